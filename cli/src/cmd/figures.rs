//! A sweep's figures on the client: its runs' nodes read through `ExportNodes`, the numbers
//! computed and drawn by `randori-report` (`sweep plot`, `sweep report --format html`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use randori_proto::v1 as pb;
use randori_report::figures::{self, NodeRow, RunNodes};
use randori_report::plots::{self, Figure};

use crate::client::{self, Client};

/// Every run of the sweep with its evaluated nodes and each node's working time.
pub async fn run_nodes(c: &mut Client, sweep_id: &str) -> Result<Vec<RunNodes>> {
    let mut stream = c
        .export_nodes(pb::SweepRequest {
            sweep_id: sweep_id.to_owned(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("the nodes of sweep {sweep_id}"))?
        .into_inner();
    let mut runs = figures::RunsOfRows::default();
    while let Some(batch) = stream.message().await.map_err(client::status_error)? {
        for node in batch.nodes {
            runs.push(row_of(node));
        }
    }
    Ok(runs.finish())
}

/// Seconds since the epoch of an RFC 3339 time; `None` for an empty one.
fn seconds(time: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    Some(t.timestamp_micros() as f64 / 1e6)
}

fn row_of(n: pb::ExportedNode) -> NodeRow {
    NodeRow {
        leased_at: seconds(&n.leased_at),
        finished_at: seconds(&n.finished_at),
        run_id: n.run_id,
        task: n.task_id,
        policy: n.policy,
        operators: n.operators,
        seed: n.seed,
        step: n.step,
        status: n.status,
        val: n.val_score,
        test: n.test_score,
        medal: n.medal,
        lower_is_better: n.lower_is_better,
        llm_seconds: n.llm_seconds,
    }
}

/// The report of the sweep, its figures, and the generalization gap per task × policy.
pub async fn figures_of(
    c: &mut Client,
    sweep_id: &str,
) -> Result<(
    randori_report::SweepReport,
    Vec<Figure>,
    Vec<figures::GapRow>,
)> {
    let report = super::views::fetch_report(c, sweep_id).await?;
    let runs = run_nodes(c, sweep_id).await?;
    let drawn = plots::sweep_figures(&report, &runs);
    Ok((report, drawn, figures::generalization_gap(&runs)))
}

/// `sweep plot ID --out DIR`: each figure as `DIR/<name>.svg` and `DIR/<name>.png` (the same
/// drawing rasterised at twice its size, for papers); returns what was written. The SVGs are
/// written first, so a host without a font still gets them before the PNGs' error.
pub async fn plot(c: &mut Client, sweep_id: &str, dir: &Path) -> Result<String> {
    let (_, drawn, _) = figures_of(c, sweep_id).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = String::new();
    for f in &drawn {
        let path = dir.join(format!("{}.svg", f.name));
        std::fs::write(&path, &f.svg).with_context(|| format!("writing {}", path.display()))?;
        written += &format!("{}  {}\n", path.display(), f.title);
    }
    let fonts = png_options().with_context(|| {
        format!(
            "{} SVGs written to {}, but no PNG",
            drawn.len(),
            dir.display()
        )
    })?;
    for f in &drawn {
        let path = dir.join(format!("{}.png", f.name));
        let png = png_of(&f.svg, &fonts).with_context(|| format!("drawing {}", path.display()))?;
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        written += &format!("{}\n", path.display());
    }
    Ok(written)
}

/// The PNGs' scale over the SVGs' pixels.
const PNG_SCALE: f32 = 2.0;

/// The host's fonts, with `sans-serif` (what the figures ask for) set to one it has.
fn png_options() -> Result<resvg::usvg::Options<'static>> {
    let mut options = resvg::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    let families: Vec<String> = fonts
        .faces()
        .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
        .collect();
    const PREFERRED: [&str; 5] = [
        "DejaVu Sans",
        "Liberation Sans",
        "Noto Sans",
        "Arial",
        "Helvetica",
    ];
    let Some(family) = PREFERRED
        .iter()
        .find(|p| families.iter().any(|f| f == *p))
        .map(|p| (*p).to_owned())
        .or_else(|| families.first().cloned())
    else {
        bail!(
            "no font for the PNGs' text: install one (Debian: apt-get install fonts-dejavu-core)"
        );
    };
    fonts.set_sans_serif_family(family);
    Ok(options)
}

/// `svg` as a PNG (see [`rasterised`]).
fn png_of(svg: &str, options: &resvg::usvg::Options<'_>) -> Result<Vec<u8>> {
    rasterised(svg, options)?
        .encode_png()
        .context("encoding the PNG")
}

/// `svg` drawn at [`PNG_SCALE`] on a white background.
fn rasterised(svg: &str, options: &resvg::usvg::Options<'_>) -> Result<resvg::tiny_skia::Pixmap> {
    let tree = resvg::usvg::Tree::from_str(svg, options).context("reading the SVG")?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .context("the SVG's size")?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .context("a picture of that size")?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures' text asks for `sans-serif`; with no family mapped to it resvg would draw
    /// no text at all and say nothing.
    #[test]
    fn a_pngs_text_is_drawn_in_a_system_font() {
        let text = r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="4" y="30" font-family="sans-serif" font-size="24">Medal</text></svg>"#;
        let options = png_options().expect("a system font (fonts-dejavu-core)");
        let pixmap = rasterised(text, &options).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (240, 80));
        let inked = pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() < 128 && p.green() < 128 && p.blue() < 128)
            .count();
        assert!(inked > 200, "{inked} dark pixels: the text was not drawn");
        assert!(png_of(text, &options).unwrap().starts_with(b"\x89PNG"));
    }
}
