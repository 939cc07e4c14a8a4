//! Prompts for the LLM operator backends: versioned templates (`operators/prompts/v1/`)
//! rendered from the task, the data preview, the search's memory and the parents, and the
//! analyze step's prompt over one evaluated node. Output reaches a model trimmed once, to its
//! first and last 2,500 characters. Pure.

/// The version the templates carry; journaled with every call so answers stay attributable.
pub const PROMPT_VERSION: &str = "v1";

const SYSTEM: &str = include_str!("../prompts/v1/system.md");
const DRAFT: &str = include_str!("../prompts/v1/draft.md");
const IMPROVE: &str = include_str!("../prompts/v1/improve.md");
const DEBUG: &str = include_str!("../prompts/v1/debug.md");
const CROSSOVER: &str = include_str!("../prompts/v1/crossover.md");
const ANALYZE_SYSTEM: &str = include_str!("../prompts/v1/analyze_system.md");
const ANALYZE: &str = include_str!("../prompts/v1/analyze.md");

/// How much of a program's output a model sees: the first and the last this many characters.
pub const OUTPUT_SHOWN: usize = 2_500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Draft,
    Improve,
    Debug,
    Crossover,
}

/// What an operator is told. Never holds test scores or medals: only validation scores reach
/// a prompt.
#[derive(Debug, Clone, Default)]
pub struct PromptContext {
    pub task_description: String,
    pub data_preview: String,
    /// Draft and Improve: summaries of good nodes; Debug: the ancestral debug chain.
    pub memory: Vec<String>,
    /// The parents' code (one for Improve and Debug, two for Crossover).
    pub parent_code: Vec<String>,
    /// Head and tail of the first parent's output.
    pub parent_output: String,
    /// Debug: how the parent failed.
    pub failure: String,
    /// How many children the parent already has: more children ask for bolder changes.
    pub parent_children: usize,
    /// The program's time limit: the node timeout, or the run's working time left if less.
    pub time_limit: String,
    /// What the program runs on, as its container is given it ("2 CPUs, 4 GiB of memory and
    /// no GPU").
    pub resources: String,
    /// Where the run stands: its step, its node budget and its working time left.
    pub budget: String,
}

/// The system and user messages for one operator call.
pub fn render(kind: PromptKind, ctx: &PromptContext) -> (String, String) {
    let template = match kind {
        PromptKind::Draft => DRAFT,
        PromptKind::Improve => IMPROVE,
        PromptKind::Debug => DEBUG,
        PromptKind::Crossover => CROSSOVER,
    };
    let memory = if ctx.memory.is_empty() {
        "Nothing yet.".to_owned()
    } else {
        ctx.memory
            .iter()
            .map(|m| format!("- {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let complexity = match ctx.parent_children {
        0 => "a small, safe change",
        1 | 2 => "a moderate change (features, model family or hyper-parameters)",
        _ => "a bolder change than its earlier children tried",
    };
    let code = |i: usize| {
        ctx.parent_code
            .get(i)
            .map(String::as_str)
            .unwrap_or_default()
    };
    let user = template
        .replace("{{task_description}}", ctx.task_description.trim())
        .replace("{{data_preview}}", ctx.data_preview.trim())
        .replace("{{memory}}", &memory)
        .replace("{{parent_code}}", code(0).trim_end())
        .replace("{{other_parent_code}}", code(1).trim_end())
        .replace("{{parent_output}}", ctx.parent_output.trim_end())
        .replace("{{failure}}", ctx.failure.trim())
        .replace("{{complexity}}", complexity)
        .replace("{{time_limit}}", &ctx.time_limit)
        .replace("{{resources}}", &ctx.resources)
        .replace("{{budget}}", ctx.budget.trim());
    (SYSTEM.trim().to_owned(), user)
}

/// What the analyze step is told about one evaluated node.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeContext {
    pub task_description: String,
    pub code: String,
    /// How the run ended: exit code, timeout, memory, the grader's verdict.
    pub ending: String,
    /// Everything the program printed; trimmed here, once.
    pub output: String,
}

/// The system and user messages of the analyze call.
pub fn render_analyze(ctx: &AnalyzeContext) -> (String, String) {
    let user = ANALYZE
        .replace("{{task_description}}", ctx.task_description.trim())
        .replace("{{code}}", ctx.code.trim_end())
        .replace("{{ending}}", ctx.ending.trim())
        .replace(
            "{{output}}",
            trim_middle(ctx.output.trim_end(), OUTPUT_SHOWN).trim_end(),
        );
    (ANALYZE_SYSTEM.trim().to_owned(), user)
}

/// `text` if it has at most `2 * keep` characters (and a little more), else its first and last
/// `keep` characters around a line saying how many were left out.
pub fn trim_middle(text: &str, keep: usize) -> String {
    let count = text.chars().count();
    if count <= 2 * keep + 100 {
        return text.to_owned();
    }
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    format!(
        "{head}\n... [{} characters left out] ...\n{tail}",
        count - 2 * keep
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PromptContext {
        PromptContext {
            task_description: "Predict fares.".into(),
            data_preview: "train.csv: key,fare".into(),
            memory: vec!["node 2 (val 3.1): ridge on distances".into()],
            parent_code: vec!["print('a')".into(), "print('b')".into()],
            parent_output: "cv 3.1".into(),
            failure: "KeyError: 'fare_amount'".into(),
            parent_children: 3,
            time_limit: "5m".into(),
            resources: "2 CPUs, 4 GiB of memory and no GPU".into(),
            budget: "This is step 3 of at most 20.".into(),
        }
    }

    #[test]
    fn every_template_renders_without_leftover_placeholders() {
        for kind in [
            PromptKind::Draft,
            PromptKind::Improve,
            PromptKind::Debug,
            PromptKind::Crossover,
        ] {
            let (system, user) = render(kind, &ctx());
            assert!(system.contains("randori:metric="));
            assert!(!user.contains("{{"), "{kind:?}: {user}");
            assert!(user.contains("Predict fares.") && user.contains("train.csv: key,fare"));
            assert!(user.contains("5m") && user.contains("2 CPUs, 4 GiB of memory and no GPU"));
            assert!(user.contains("step 3 of at most 20"), "{kind:?}");
        }
        let (_, improve) = render(PromptKind::Improve, &ctx());
        assert!(improve.contains("print('a')") && improve.contains("bolder change"));
        assert!(improve.contains("node 2 (val 3.1)"));
        let (_, crossover) = render(PromptKind::Crossover, &ctx());
        assert!(crossover.contains("print('a')") && crossover.contains("print('b')"));
        let (_, debug) = render(PromptKind::Debug, &ctx());
        assert!(debug.contains("KeyError: 'fare_amount'"));
        let (_, draft) = render(PromptKind::Draft, &PromptContext::default());
        assert!(draft.contains("Nothing yet."));
    }

    #[test]
    fn the_analyze_prompt_shows_the_code_the_ending_and_the_output_trimmed_once() {
        let output = format!(
            "{}{}{}",
            "a".repeat(3000),
            "b".repeat(3000),
            "c".repeat(3000)
        );
        let (system, user) = render_analyze(&AnalyzeContext {
            task_description: "Predict fares.".into(),
            code: "print(1)".into(),
            ending: "exit code 0".into(),
            output,
        });
        assert!(system.contains("\"is_bug\"") && system.contains("\"metric\""));
        assert!(!user.contains("{{"), "{user}");
        assert!(user.contains("print(1)") && user.contains("exit code 0"));
        assert!(user.contains(&"a".repeat(2500)) && !user.contains(&"a".repeat(2501)));
        assert!(user.contains("[4000 characters left out]") && !user.contains('b'));
        assert_eq!(trim_middle("short", 2500), "short");
    }
}
