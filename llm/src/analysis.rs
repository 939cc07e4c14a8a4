//! The analyze step's answer: `is_bug`, `summary` and `metric`, asked for through structured
//! output (a JSON schema the endpoint enforces where it can) and read tolerantly, since not
//! every endpoint enforces it: the first JSON object in the answer that has `is_bug`, with
//! booleans and numbers also accepted as strings.

use serde_json::{Value, json};

/// What the analyzer says of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisAnswer {
    pub is_bug: bool,
    pub summary: String,
    /// The validation metric it read from the output, if any.
    pub metric: Option<f64>,
}

/// The `response_format` of the analyze call: OpenAI's structured output.
pub fn analysis_response_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "node_analysis",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "is_bug": {"type": "boolean"},
                    "summary": {"type": "string"},
                    "metric": {"type": ["number", "null"]},
                },
                "required": ["is_bug", "summary", "metric"],
                "additionalProperties": false,
            },
        },
    })
}

/// Reads an analysis out of an answer, or says why it cannot.
pub fn parse_analysis(answer: &str) -> Result<AnalysisAnswer, String> {
    let text = match answer.find("</think>") {
        Some(end) => &answer[end + "</think>".len()..],
        None => answer,
    };
    let object = text
        .char_indices()
        .filter(|&(_, c)| c == '{')
        .find_map(|(i, _)| {
            let value = serde_json::Deserializer::from_str(&text[i..])
                .into_iter::<Value>()
                .next()?
                .ok()?;
            value.get("is_bug").is_some().then_some(value)
        })
        .ok_or("no JSON object with \"is_bug\" in the answer")?;
    let is_bug = match &object["is_bug"] {
        Value::Bool(b) => *b,
        Value::String(s) if ["true", "yes"].contains(&s.trim().to_lowercase().as_str()) => true,
        Value::String(s) if ["false", "no"].contains(&s.trim().to_lowercase().as_str()) => false,
        other => return Err(format!("\"is_bug\" is {other}, not a boolean")),
    };
    let metric = match &object["metric"] {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|m| m.is_finite());
    let summary = match &object["summary"] {
        Value::String(s) => s.trim().to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(AnalysisAnswer {
        is_bug,
        summary,
        metric,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strict_answer_and_looser_ones_read_the_same() {
        let want = AnalysisAnswer {
            is_bug: false,
            summary: "Ridge on distances; CV RMSE 3.1.".into(),
            metric: Some(3.1),
        };
        for answer in [
            r#"{"is_bug": false, "summary": "Ridge on distances; CV RMSE 3.1.", "metric": 3.1}"#,
            "Here is my review:\n```json\n{\"is_bug\": \"false\", \"summary\": \"Ridge on distances; CV RMSE 3.1.\", \"metric\": \"3.1\"}\n```",
            "<think>{\"is_bug\": true}</think>{\"summary\": \"Ridge on distances; CV RMSE 3.1.\", \"is_bug\": \"No\", \"metric\": 3.1}",
        ] {
            assert_eq!(parse_analysis(answer), Ok(want.clone()), "{answer}");
        }
        let no_metric =
            parse_analysis(r#"{"is_bug": true, "summary": "KeyError", "metric": null}"#);
        assert_eq!(no_metric.unwrap().metric, None);
    }

    #[test]
    fn an_answer_without_a_verdict_is_refused_with_the_reason() {
        assert!(parse_analysis("It looks fine.").is_err());
        assert!(parse_analysis(r#"{"summary": "ok"}"#).is_err());
        let e = parse_analysis(r#"{"is_bug": 3}"#).unwrap_err();
        assert!(e.contains("not a boolean"), "{e}");
    }
}
