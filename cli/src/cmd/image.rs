use std::process::ExitCode;

use anyhow::Result;

use crate::args::ImageCommand;
use crate::image;

pub fn run(c: ImageCommand) -> Result<ExitCode> {
    match c {
        ImageCommand::Build {
            tag,
            force,
            grading,
        } => {
            if grading {
                let tag = tag.unwrap_or_else(image::grading_tag);
                image::ensure_grading(&tag, force)?;
                println!("{tag}");
            } else {
                let tag = tag.unwrap_or_else(image::default_tag);
                image::ensure(&tag, force)?;
                println!("{tag}");
            }
        }
        ImageCommand::Tag { grading } => println!(
            "{}",
            if grading {
                image::grading_tag()
            } else {
                image::default_tag()
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}
