use std::process::ExitCode;

use anyhow::Result;

use crate::args::ImageCommand;
use crate::image;

pub fn run(c: ImageCommand) -> Result<ExitCode> {
    match c {
        ImageCommand::Build { tag, force } => {
            let tag = tag.unwrap_or_else(image::default_tag);
            image::ensure(&tag, force)?;
            println!("{tag}");
        }
        ImageCommand::Tag => println!("{}", image::default_tag()),
    }
    Ok(ExitCode::SUCCESS)
}
