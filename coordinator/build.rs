// `sqlx::migrate!` embeds ../migrations at compile time; without this a new migration file
// would not rebuild the crate, and a cached build would ship the old set.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
