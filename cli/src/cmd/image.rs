use std::process::ExitCode;

use anyhow::Result;

use crate::args::ImageCommand;
use crate::image;

pub fn run(c: ImageCommand) -> Result<ExitCode> {
    match c {
        ImageCommand::Build {
            tag,
            force,
            flavor,
            grading,
        } => {
            if grading {
                let tag = tag.unwrap_or_else(image::grading_tag);
                image::ensure_grading(&tag, force)?;
                println!("{tag}");
            } else {
                let tag = tag.unwrap_or_else(|| flavor.tag());
                image::ensure_flavor(flavor, &tag, force)?;
                println!("{tag}");
            }
        }
        ImageCommand::Tag { flavor, grading } => println!(
            "{}",
            if grading {
                image::grading_tag()
            } else {
                flavor.tag()
            }
        ),
        ImageCommand::List { manifest, json } => list(manifest, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list(manifest: bool, json: bool) -> Result<()> {
    let images = image::installed()?;
    if json {
        println!("{}", serde_json::to_string(&images)?);
        return Ok(());
    }
    if images.is_empty() {
        eprintln!("no runtime image on this host; `randori image build [--flavor dl]` makes one");
        return Ok(());
    }
    println!(
        "{:<40} {:<6} {:>9} {:>9}  CURRENT",
        "TAG", "FLAVOR", "SIZE", "PACKAGES"
    );
    for i in &images {
        println!(
            "{:<40} {:<6} {:>9} {:>9}  {}",
            i.tag,
            i.flavor,
            format!("{:.2} GB", i.size_bytes as f64 / 1e9),
            i.manifest.len(),
            if i.current { "yes" } else { "no" }
        );
    }
    if manifest {
        for i in &images {
            println!("\n# {}", i.tag);
            for line in &i.manifest {
                println!("{line}");
            }
        }
    }
    Ok(())
}
