use thiserror::Error;

/// What an operator's answer proposes: the plan in prose and the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The text before the first code fence, trimmed (may be empty).
    pub plan: String,
    /// The chosen Python block, common indentation removed, ending in a newline.
    pub code: String,
}

/// An answer with no program in it; the operator turns this into a failed node.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExtractError {
    #[error("the answer has no ```python code block")]
    NoCode,
    #[error("the answer's ```python code block is empty")]
    EmptyCode,
}

/// Finds the plan and the program in an answer.
///
/// Candidates are fenced blocks tagged `python`, `py` or `python3` (any case) or not tagged at
/// all; blocks in other languages (`bash`, `json`, ...) are skipped. Of several candidates the
/// largest wins (the last of equals): answers often quote a snippet or a command in the plan
/// before the full program, or add a short usage example after it, and the program is the bulk.
/// A block whose closing fence is missing (an answer cut off by `max_tokens`) runs to the end
/// of the answer, so the node fails with Python's own error and Debug can see it.
pub fn extract(answer: &str) -> Result<Extracted, ExtractError> {
    let mut plan_end = None;
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

    let largest = candidates
        .iter()
        .max_by_key(|code| code.trim().len())
        .ok_or(ExtractError::NoCode)?;
    if largest.trim().is_empty() {
        return Err(ExtractError::EmptyCode);
    }
    Ok(Extracted {
        plan: answer[..plan_end.unwrap_or(0)].trim().to_owned(),
        code: dedent(largest),
    })
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
    fn several_blocks_largest_wins() {
        check(
            "Install:\n```bash\npip install lightgbm lightgbm lightgbm\n```\n\
             Model:\n```python\nimport lightgbm\nfit()\n```\nUse:\n```python\nmain()\n```\n",
            Ok(("Install:", "import lightgbm\nfit()\n")),
        );
        // Equal sizes: the last one, the answer's final word.
        check(
            "```python\nprint(1)\n```\n```python\nprint(2)\n```",
            Ok(("", "print(2)\n")),
        );
    }

    #[test]
    fn no_block() {
        check(
            "I would train a gradient-boosted model.",
            Err(ExtractError::NoCode),
        );
        check("print(1)", Err(ExtractError::NoCode));
        check(
            "Run this:\n```bash\npython train.py\n```",
            Err(ExtractError::NoCode),
        );
    }

    #[test]
    fn empty_block() {
        check("Plan.\n```python\n```", Err(ExtractError::EmptyCode));
        check("Plan.\n```python\n  \n\n```", Err(ExtractError::EmptyCode));
    }

    #[test]
    fn cut_off_answer_keeps_its_code() {
        check(
            "Plan.\n```python\nimport numpy\nx = (",
            Ok(("Plan.", "import numpy\nx = (\n")),
        );
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
