//! Prompts for the LLM operator backends. An *operator set* is a versioned set of templates
//! (`operators/prompts/<set>/<version>/`) with the memory each operator gets by default:
//! `aira` (the paper's operators: one idea per answer, the compute stated, the complexity cue
//! when `use_complexity` is on) and `aide` (AIDE's originals: a short sketch, atomic
//! improvements that see the code but not its output). The analyze step's prompt is shared.
//! Output reaches a model trimmed once, to its first and last 2,500 characters. Pure.

use crate::memory::MemoryScheme;

/// How much of a program's output a model sees: the first and the last this many characters.
pub const OUTPUT_SHOWN: usize = 2_500;

/// The analyze prompt's version (both operator sets use it).
pub const ANALYZE_VERSION: &str = "analyze/v1";

const ANALYZE_SYSTEM: &str = include_str!("../prompts/analyze/v1/system.md");
const ANALYZE: &str = include_str!("../prompts/analyze/v1/user.md");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Draft,
    Improve,
    Debug,
    Crossover,
}

/// The complexity cue (AIRA-dojo's `use_complexity`): Draft by the drafts made so far, Improve
/// by the parent's children; fewer than 2 simple, fewer than 4 normal, else complex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complexity {
    Simple,
    Normal,
    Complex,
}

impl Complexity {
    pub fn of_count(count: usize) -> Complexity {
        match count {
            0 | 1 => Complexity::Simple,
            2 | 3 => Complexity::Normal,
            _ => Complexity::Complex,
        }
    }
}

/// One operator set: its templates and the memory each operator gets unless the sweep says
/// otherwise.
#[derive(Debug)]
pub struct OperatorSet {
    pub name: &'static str,
    pub version: &'static str,
    system: &'static str,
    draft: &'static str,
    improve: &'static str,
    debug: &'static str,
    crossover: &'static str,
    /// The cue for each complexity level; sets without one ignore `use_complexity`.
    complexity: Option<[&'static str; 3]>,
    /// Draft, Improve, Debug, Crossover.
    memory: [MemoryScheme; 4],
}

/// Both sets default to AIRA-dojo's released memory: simple for Draft and Improve, ancestral
/// for Debug, none for Crossover (its `aide_greedy_o3` experiment runs the AIDE prompts with
/// the same memory as the AIRA ones).
const RELEASED_MEMORY: [MemoryScheme; 4] = [
    MemoryScheme::Simple,
    MemoryScheme::Simple,
    MemoryScheme::Ancestral,
    MemoryScheme::None,
];

pub const AIRA: OperatorSet = OperatorSet {
    name: "aira",
    version: "v1",
    system: include_str!("../prompts/aira/v1/system.md"),
    draft: include_str!("../prompts/aira/v1/draft.md"),
    improve: include_str!("../prompts/aira/v1/improve.md"),
    debug: include_str!("../prompts/aira/v1/debug.md"),
    crossover: include_str!("../prompts/aira/v1/crossover.md"),
    complexity: Some([
        include_str!("../prompts/aira/v1/complexity-simple.md"),
        include_str!("../prompts/aira/v1/complexity-normal.md"),
        include_str!("../prompts/aira/v1/complexity-complex.md"),
    ]),
    memory: RELEASED_MEMORY,
};

pub const AIDE: OperatorSet = OperatorSet {
    name: "aide",
    version: "v1",
    system: include_str!("../prompts/aide/v1/system.md"),
    draft: include_str!("../prompts/aide/v1/draft.md"),
    improve: include_str!("../prompts/aide/v1/improve.md"),
    debug: include_str!("../prompts/aide/v1/debug.md"),
    crossover: include_str!("../prompts/aide/v1/crossover.md"),
    complexity: None,
    memory: RELEASED_MEMORY,
};

/// Every set, by name.
pub const OPERATOR_SETS: [&OperatorSet; 2] = [&AIRA, &AIDE];

/// The set a sweep names; `None` for an unknown name.
pub fn operator_set(name: &str) -> Option<&'static OperatorSet> {
    OPERATOR_SETS.into_iter().find(|s| s.name == name)
}

impl OperatorSet {
    /// `aira/v1`: what is journaled with every call and shown in reports.
    pub fn label(&self) -> String {
        format!("{}/{}", self.name, self.version)
    }

    /// The memory `kind` gets by default in this set.
    pub fn default_memory(&self, kind: PromptKind) -> MemoryScheme {
        self.memory[kind as usize]
    }

    /// The system and user messages for one operator call.
    pub fn render(&self, kind: PromptKind, ctx: &PromptContext) -> (String, String) {
        let template = match kind {
            PromptKind::Draft => self.draft,
            PromptKind::Improve => self.improve,
            PromptKind::Debug => self.debug,
            PromptKind::Crossover => self.crossover,
        };
        let complexity = match (self.complexity, ctx.complexity) {
            (Some(cues), Some(level)) => cues[level as usize].trim(),
            _ => "",
        };
        let code = |i: usize| {
            ctx.parent_code
                .get(i)
                .map(String::as_str)
                .unwrap_or_default()
        };
        let fill = |text: &str| {
            text.replace("{{task_description}}", ctx.task_description.trim())
                .replace("{{data_preview}}", ctx.data_preview.trim())
                .replace("{{memory}}", ctx.memory.trim())
                .replace("{{parent_code}}", code(0).trim_end())
                .replace("{{other_parent_code}}", code(1).trim_end())
                .replace("{{parent_output}}", ctx.parent_output.trim_end())
                .replace("{{failure}}", ctx.failure.trim())
                .replace("{{complexity}}", complexity)
                .replace("{{time_limit}}", &ctx.time_limit)
                .replace("{{resources}}", &ctx.resources)
                .replace("{{packages}}", &ctx.packages)
                .replace("{{budget}}", ctx.budget.trim())
        };
        let user = fill(template)
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n");
        (fill(self.system).trim().to_owned(), user)
    }
}

/// What an operator is told. Never holds test scores or medals: only validation scores reach
/// a prompt.
#[derive(Debug, Clone, Default)]
pub struct PromptContext {
    pub task_description: String,
    pub data_preview: String,
    /// The memory, rendered by its scheme (`memory::render_memory`).
    pub memory: String,
    /// The parents' code (one for Improve and Debug, two for Crossover).
    pub parent_code: Vec<String>,
    /// Head and tail of the first parent's output.
    pub parent_output: String,
    /// Debug: how the parent failed.
    pub failure: String,
    /// The complexity cue, when `use_complexity` is on.
    pub complexity: Option<Complexity>,
    /// The program's time limit: the node timeout, or the run's working time left if less.
    pub time_limit: String,
    /// What the program runs on, as its container is given it ("2 CPUs, 4 GiB of memory and
    /// no GPU").
    pub resources: String,
    /// The Python packages of the runtime image.
    pub packages: String,
    /// Where the run stands: its step, its node budget and its working time left.
    pub budget: String,
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
            memory: "Node 2 (validation score 3.1)\nDesign: ridge on distances".into(),
            parent_code: vec!["print('a')".into(), "print('b')".into()],
            parent_output: "cv 3.1".into(),
            failure: "KeyError: 'fare_amount'".into(),
            complexity: Some(Complexity::Complex),
            time_limit: "5m".into(),
            resources: "2 CPUs, 4 GiB of memory and no GPU".into(),
            packages: "numpy 1.26.4, torch 2.5.1".into(),
            budget: "This is step 3 of at most 20.".into(),
        }
    }

    const KINDS: [PromptKind; 4] = [
        PromptKind::Draft,
        PromptKind::Improve,
        PromptKind::Debug,
        PromptKind::Crossover,
    ];

    #[test]
    fn every_template_of_every_set_renders_without_leftover_placeholders() {
        for set in OPERATOR_SETS {
            for kind in KINDS {
                let (system, user) = set.render(kind, &ctx());
                let at = format!("{} {kind:?}", set.label());
                assert!(system.contains("randori:metric="), "{at}");
                assert!(
                    !user.contains("{{") && !system.contains("{{"),
                    "{at}: {user}"
                );
                assert!(user.contains("Predict fares.") && user.contains("train.csv: key,fare"));
                assert!(
                    user.contains("5m") && user.contains("step 3 of at most 20"),
                    "{at}"
                );
                assert!(
                    format!("{system}{user}").contains("2 CPUs, 4 GiB of memory and no GPU"),
                    "{at}"
                );
                assert!(system.contains("numpy 1.26.4, torch 2.5.1"), "{at}");
            }
            let (_, improve) = set.render(PromptKind::Improve, &ctx());
            assert!(improve.contains("print('a')") && improve.contains("ridge on distances"));
            let (_, crossover) = set.render(PromptKind::Crossover, &ctx());
            assert!(crossover.contains("print('a')") && crossover.contains("print('b')"));
            let (_, debug) = set.render(PromptKind::Debug, &ctx());
            assert!(debug.contains("KeyError: 'fare_amount'") && debug.contains("cv 3.1"));
        }
    }

    #[test]
    fn the_sets_differ_where_aira_dojo_s_do() {
        // AIDE's improve sees the code, not its output; AIRA's sees both.
        let (_, aide) = AIDE.render(PromptKind::Improve, &ctx());
        let (_, aira) = AIRA.render(PromptKind::Improve, &ctx());
        assert!(!aide.contains("cv 3.1") && aira.contains("cv 3.1"));
        // Only AIRA has a complexity cue, and only when it is asked for.
        let complex = AIRA.complexity.unwrap()[2].trim();
        assert!(aira.contains(complex));
        let (_, plain) = AIRA.render(
            PromptKind::Draft,
            &PromptContext {
                complexity: None,
                ..ctx()
            },
        );
        for cue in AIRA.complexity.unwrap() {
            assert!(!plain.contains(cue.trim()));
        }
        assert!(!AIDE.render(PromptKind::Draft, &ctx()).1.contains(complex));
        assert_eq!(operator_set("aide").unwrap().label(), "aide/v1");
        assert!(operator_set("aider").is_none());
        for set in OPERATOR_SETS {
            assert_eq!(
                set.default_memory(PromptKind::Debug),
                MemoryScheme::Ancestral
            );
            assert_eq!(
                set.default_memory(PromptKind::Crossover),
                MemoryScheme::None
            );
        }
    }

    #[test]
    fn complexity_levels_follow_the_counts() {
        let levels: Vec<Complexity> = (0..6).map(Complexity::of_count).collect();
        use Complexity::*;
        assert_eq!(levels, [Simple, Simple, Normal, Normal, Complex, Complex]);
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
