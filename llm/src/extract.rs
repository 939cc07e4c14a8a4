use thiserror::Error;

/// What an operator's answer proposes: the plan in prose and the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The text before the first code fence, trimmed (may be empty).
    pub plan: String,
    /// Every Python block that parses, each with its common indentation removed, joined by a
    /// blank line, ending in a newline.
    pub code: String,
}

/// An answer with no usable program in it; the operator asks again, and after its last try
/// makes a node that fails with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExtractError {
    #[error("the answer has no ```python code block")]
    NoCode,
    #[error("the answer's ```python code block is empty")]
    EmptyCode,
    /// Python blocks, but none parses (an answer cut off mid-program, say). `largest` is the
    /// biggest of them: run as it is, it fails with Python's own message, which Debug can read.
    #[error("no ```python code block in the answer parses: {error}")]
    Unparseable { error: String, largest: String },
}

/// Finds the plan and the program in an answer, as AIRA-dojo does.
///
/// A reasoning model's thoughts are removed first: a `<think>…</think>` block, or everything up
/// to a lone `</think>` (some servers drop the opening tag). Candidates are fenced blocks
/// tagged `python`, `py` or `python3` (any case) or not tagged at all; blocks in other
/// languages (`bash`, `json`, ...) are skipped; an answer without any fence is one candidate
/// as a whole. Every candidate that parses as Python is kept, in order, and they are joined:
/// models often split a program into several blocks (imports, model, training). A block whose
/// closing fence is missing (an answer cut off at the token limit) runs to the end.
pub fn extract(answer: &str) -> Result<Extracted, ExtractError> {
    let answer = without_thinking(answer);
    let mut plan_end = None;
    let mut python_fences = 0;
    let mut candidates = Vec::new();
    // While inside a fence: whether it is a candidate, and its lines so far.
    let mut open: Option<(bool, String)> = None;
    let mut offset = 0;
    for line in answer.split_inclusive('\n') {
        let trimmed = line.trim();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    plan_end.get_or_insert(offset);
                    python_fences += usize::from(is_python(info));
                    open = Some((is_python(info), String::new()));
                }
            }
            Some((candidate, code)) => {
                if trimmed == "```" {
                    if *candidate {
                        candidates.push(std::mem::take(code));
                    }
                    open = None;
                } else {
                    code.push_str(line);
                }
            }
        }
        offset += line.len();
    }
    if let Some((true, code)) = open {
        candidates.push(code);
    }
    if plan_end.is_none() {
        candidates.push(answer.to_owned());
    }
    let candidates: Vec<String> = candidates
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| dedent(c))
        .collect();
    let parsed: Vec<&str> = candidates
        .iter()
        .filter(|c| parses(c).is_ok())
        .map(String::as_str)
        .collect();
    if !parsed.is_empty() {
        return Ok(Extracted {
            plan: answer[..plan_end.unwrap_or(0)].trim().to_owned(),
            code: parsed.join("\n"),
        });
    }
    Err(match candidates.iter().max_by_key(|c| c.trim().len()) {
        // Prose without fences is no program, whatever it says.
        Some(_) if plan_end.is_none() => ExtractError::NoCode,
        Some(largest) => ExtractError::Unparseable {
            error: parses(largest).err().unwrap_or_default(),
            largest: largest.clone(),
        },
        None if python_fences > 0 => ExtractError::EmptyCode,
        None => ExtractError::NoCode,
    })
}

/// The answer without a reasoning model's thoughts.
fn without_thinking(answer: &str) -> &str {
    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";
    match (answer.find(OPEN), answer.find(CLOSE)) {
        (Some(start), Some(end)) if start < end && answer[..start].trim().is_empty() => {
            &answer[end + CLOSE.len()..]
        }
        // Thoughts that never ended: nothing after them is an answer.
        (Some(start), None) => &answer[..start],
        (None, Some(end)) => &answer[end + CLOSE.len()..],
        _ => answer,
    }
}

/// Whether `code` is a Python module, by a Python parser (Python 3.11's grammar); why not.
fn parses(code: &str) -> Result<(), String> {
    rustpython_parser::parse(code, rustpython_parser::Mode::Module, "<answer>")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn is_python(info: &str) -> bool {
    let info = info.trim();
    info.is_empty()
        || ["python", "py", "python3"]
            .iter()
            .any(|tag| info.eq_ignore_ascii_case(tag))
}

/// Removes the indentation all non-blank lines share (a fence nested in a Markdown list item
/// indents the whole program) and blank lines at either end.
fn dedent(code: &str) -> String {
    let lines: Vec<&str> = code.lines().map(str::trim_end).collect();
    let first = lines.iter().position(|line| !line.is_empty()).unwrap_or(0);
    let last = lines.iter().rposition(|line| !line.is_empty()).unwrap_or(0);
    let lines = &lines[first..=last];
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        out.push_str(line.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(answer: &str, expect: Result<(&str, &str), ExtractError>) {
        let got = extract(answer);
        let expect = expect.map(|(plan, code)| Extracted {
            plan: plan.to_owned(),
            code: code.to_owned(),
        });
        assert_eq!(got, expect, "answer:\n{answer}");
    }

    #[test]
    fn plan_then_python_block() {
        check(
            "I will fit a random forest.\n\n```python\nimport sklearn\nprint(1)\n```\n",
            Ok(("I will fit a random forest.", "import sklearn\nprint(1)\n")),
        );
        check(
            "Plan.\n```Python\nprint(1)\n```\nThat should score well.",
            Ok(("Plan.", "print(1)\n")),
        );
        check("```py\nprint(1)\n```", Ok(("", "print(1)\n")));
    }

    #[test]
    fn bare_fence_counts_as_python() {
        check("Plan:\n```\nprint(2)\n```", Ok(("Plan:", "print(2)\n")));
    }

    #[test]
    fn every_block_that_parses_is_joined_in_order() {
        check(
            "Install:\n```bash\npip install lightgbm\n```\n\
             Model:\n```python\nimport lightgbm\nfit()\n```\nUse:\n```python\nmain()\n```\n",
            Ok(("Install:", "import lightgbm\nfit()\n\nmain()\n")),
        );
        // A block that does not parse (a sketch) is left out.
        check(
            "```python\nfor x in:\n```\n```python\nprint(2)\n```",
            Ok(("", "print(2)\n")),
        );
    }

    #[test]
    fn thoughts_are_removed_first() {
        check(
            "<think>Maybe\n```python\nprint(0)\n```\nwould do.</think>\nPlan.\n```python\nprint(1)\n```",
            Ok(("Plan.", "print(1)\n")),
        );
        check(
            "thinking without an opening tag</think>Plan.\n```python\nprint(1)\n```",
            Ok(("Plan.", "print(1)\n")),
        );
        check(
            "<think>still thinking\n```python\nprint(1)\n```",
            Err(ExtractError::NoCode),
        );
    }

    #[test]
    fn no_program() {
        check(
            "I would train a gradient-boosted model.",
            Err(ExtractError::NoCode),
        );
        check(
            "Run this:\n```bash\npython train.py\n```",
            Err(ExtractError::NoCode),
        );
    }

    #[test]
    fn an_answer_without_fences_that_parses_is_the_program() {
        check(
            "import os\nprint(os.getcwd())",
            Ok(("", "import os\nprint(os.getcwd())\n")),
        );
    }

    #[test]
    fn empty_block() {
        check("Plan.\n```python\n```", Err(ExtractError::EmptyCode));
        check("Plan.\n```python\n  \n\n```", Err(ExtractError::EmptyCode));
    }

    #[test]
    fn a_cut_off_answer_does_not_parse_and_keeps_its_code_for_the_last_resort() {
        match extract("Plan.\n```python\nimport numpy\nx = (") {
            Err(ExtractError::Unparseable { error, largest }) => {
                assert_eq!(largest, "import numpy\nx = (\n");
                assert!(!error.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn indented_fence_is_dedented() {
        check(
            "1. Train:\n   ```python\n   \n   def f():\n       return 1\n   print(f())\n   ```\n",
            Ok(("1. Train:", "def f():\n    return 1\nprint(f())\n")),
        );
    }

    #[test]
    fn crlf_answer() {
        check(
            "Plan.\r\n```python\r\nprint(1)\r\n```\r\n",
            Ok(("Plan.", "print(1)\n")),
        );
    }
}
