//! HubSpot's error bodies, read leniently (HubSpot says every field may be
//! missing), and turned into messages that repeat HubSpot's own words and
//! `correlationId` beside what to fix.

use serde::Deserialize;
use serde_json::Value;

use crate::crm::CrmError;

/// The prefix of HubSpot's message for refused property values; a JSON list
/// of `{error, name, message}` follows it.
const INVALID_VALUES: &str = "Property values were not valid: ";

/// An error body: a whole call's (`{status: "error", message,
/// correlationId, category, errors}`) or one entry of a batch's `errors`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct HubSpotError {
    pub message: String,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    /// On a 429: which limit was hit (`TEN_SECONDLY_ROLLING`, `DAILY`...).
    pub policy_name: Option<String>,
    pub errors: Vec<ErrorDetail>,
    /// On a batch entry: `objectWriteTraceId` and `ids` name the inputs.
    pub context: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ErrorDetail {
    pub message: String,
    pub code: Option<String>,
    /// Such as `{"propertyName": ["dealstage"]}` or
    /// `{"requiredGranularScopes": [...]}`.
    pub context: Value,
}

/// One refused property value: HubSpot's code (`INVALID_OPTION`,
/// `PROPERTY_DOESNT_EXIST`...), the property and HubSpot's sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub code: String,
    pub property: Option<String>,
    pub message: String,
}

/// The embedded list after [`INVALID_VALUES`].
#[derive(Deserialize)]
struct EmbeddedProblem {
    #[serde(default)]
    error: String,
    name: Option<String>,
    #[serde(default)]
    message: String,
}

impl HubSpotError {
    /// Reads a body; one that is not HubSpot's JSON keeps its first words as
    /// the message, so a proxy's error page still says something.
    pub fn parse(body: &[u8]) -> HubSpotError {
        serde_json::from_slice(body).unwrap_or_else(|_| HubSpotError {
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
            ..HubSpotError::default()
        })
    }

    pub fn from_value(body: &Value) -> HubSpotError {
        HubSpotError::deserialize(body).unwrap_or_default()
    }

    /// `HubSpot said: "…" (category …, correlationId …)`, for messages.
    pub fn said(&self) -> String {
        let mut said = format!("HubSpot said: \"{}\"", self.words());
        let details: Vec<String> = [
            self.category.as_ref().map(|c| format!("category {c}")),
            self.correlation_id
                .as_ref()
                .map(|id| format!("correlationId {id}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !details.is_empty() {
            said.push_str(&format!(" ({})", details.join(", ")));
        }
        said
    }

    /// HubSpot's message, with a list of refused values read into
    /// `property: sentence` pairs (each once) rather than repeated as JSON.
    fn words(&self) -> String {
        let problems = self.problems();
        if problems.is_empty() {
            return self.message.trim().to_owned();
        }
        problems
            .iter()
            .map(|p| match &p.property {
                Some(property) => format!("{property}: {}", p.message),
                None => p.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The refused property values, from `errors[]` and from the list
    /// HubSpot embeds in its message; both carry the same facts, and either
    /// may be missing.
    pub fn problems(&self) -> Vec<Problem> {
        let details = self.errors.iter().filter_map(|detail| {
            Some(Problem {
                code: detail.code.clone()?,
                property: first_string(&detail.context, "propertyName"),
                message: detail.message.clone(),
            })
        });
        let list = self.message.strip_prefix(INVALID_VALUES).unwrap_or("[]");
        let embedded: Vec<EmbeddedProblem> = serde_json::from_str(list).unwrap_or_default();
        let embedded = embedded.into_iter().map(|problem| Problem {
            code: problem.error,
            property: problem.name,
            message: problem.message,
        });
        let mut problems: Vec<Problem> = Vec::new();
        for problem in details.chain(embedded) {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        problems
    }

    /// What to tell staff about a refused record: HubSpot's sentence for
    /// each refused property, else its whole message; with the
    /// correlationId.
    pub fn record_message(&self) -> String {
        match &self.correlation_id {
            Some(id) => format!("HubSpot refused it: {} (correlationId {id})", self.words()),
            None => format!("HubSpot refused it: {}", self.words()),
        }
    }

    /// The `objectWriteTraceId`s a batch error names.
    pub fn trace_ids(&self) -> Vec<&str> {
        self.context
            .get("objectWriteTraceId")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The scopes a 403 says are missing, wherever HubSpot put them.
    pub fn missing_scopes(&self) -> Vec<String> {
        let contexts = std::iter::once(&self.context).chain(self.errors.iter().map(|e| &e.context));
        let mut scopes: Vec<String> = contexts
            .flat_map(|context| {
                ["requiredGranularScopes", "requiredScopes", "missingScopes"]
                    .into_iter()
                    .filter_map(|key| context.get(key)?.as_array())
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }
}

fn first_string(context: &Value, key: &str) -> Option<String> {
    match context.get(key)? {
        Value::Array(items) => items.first()?.as_str().map(str::to_owned),
        Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// The error for an answer a call cannot use (a 4xx other than the ones the
/// transport already explained): a person must fix the `[crm]` settings.
pub(super) fn refused(what: &str, status: u16, body: &Value) -> CrmError {
    let error = HubSpotError::from_value(body);
    let advice = match error.category.as_deref() {
        Some("OBJECT_NOT_FOUND") => {
            "Check the object names (`object`, `account_object`) in the program's [crm] table"
        }
        _ => "Check the object and property names in the program's [crm] table against HubSpot",
    };
    CrmError::Refused {
        message: format!(
            "HubSpot refused {what} (HTTP {status}). {}. {advice}.",
            error.said()
        ),
    }
}

/// A 400 that no record can fix alone: the mapping names a property HubSpot
/// does not have, or the call itself is wrong (an object that does not
/// exist). `None` when the 400 is about values, which one record may carry.
pub(super) fn configuration_problem(object: &str, error: &HubSpotError) -> Option<CrmError> {
    let mut missing: Vec<String> = error
        .problems()
        .into_iter()
        .filter(|p| p.code == "PROPERTY_DOESNT_EXIST")
        .filter_map(|p| p.property)
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Some(CrmError::Refused {
            message: format!(
                "HubSpot has no property {} on {object}. Create it in HubSpot (Settings > \
                 Properties) or remove it from the program's [crm] mapping. {}.",
                missing.join(", "),
                error.said()
            ),
        });
    }
    let values_refused = error.category.as_deref() == Some("VALIDATION_ERROR");
    (!values_refused).then(|| CrmError::Refused {
        message: format!(
            "HubSpot refused the batch upsert of {object}. {}. Check the [crm] object and \
             id_property names in the program.",
            error.said()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invalid_option() -> HubSpotError {
        HubSpotError::from_value(&json!({
            "status": "error",
            "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"bogus was not one of the allowed options: [closedwon, closedlost]\",\"error\":\"INVALID_OPTION\",\"name\":\"dealstage\"}]",
            "correlationId": "c-1",
            "category": "VALIDATION_ERROR"
        }))
    }

    #[test]
    fn reads_problems_embedded_in_the_message() {
        assert_eq!(
            invalid_option().problems(),
            vec![Problem {
                code: "INVALID_OPTION".into(),
                property: Some("dealstage".into()),
                message: "bogus was not one of the allowed options: [closedwon, closedlost]".into(),
            }]
        );
        assert_eq!(
            invalid_option().record_message(),
            "HubSpot refused it: dealstage: bogus was not one of the allowed options: \
             [closedwon, closedlost] (correlationId c-1)"
        );
    }

    #[test]
    fn the_same_problem_in_both_places_counts_once() {
        let mut error = invalid_option();
        error.errors.push(ErrorDetail {
            message: "bogus was not one of the allowed options: [closedwon, closedlost]".into(),
            code: Some("INVALID_OPTION".into()),
            context: json!({"propertyName": ["dealstage"]}),
        });
        assert_eq!(error.problems().len(), 1);
    }

    #[test]
    fn a_missing_property_is_a_configuration_problem() {
        let error = HubSpotError::from_value(&json!({
            "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"nope\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"nope\"}]",
            "category": "VALIDATION_ERROR",
            "correlationId": "c-2"
        }));
        let Some(CrmError::Refused { message }) = configuration_problem("deals", &error) else {
            panic!("expected a refusal");
        };
        assert!(message.contains("no property nope on deals"), "{message}");
        assert!(message.contains("c-2"), "{message}");
        assert!(configuration_problem("deals", &invalid_option()).is_none());
    }

    #[test]
    fn scopes_are_found_in_details() {
        let error = HubSpotError::from_value(&json!({
            "message": "This app hasn't been granted all required scopes to make this call.",
            "category": "MISSING_SCOPES",
            "errors": [{"message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": ["crm.objects.deals.write"]}}]
        }));
        assert_eq!(error.missing_scopes(), vec!["crm.objects.deals.write"]);
    }

    #[test]
    fn a_body_that_is_not_json_keeps_its_words() {
        let error = HubSpotError::parse(b"<html>Bad gateway</html>");
        assert_eq!(error.message, "<html>Bad gateway</html>");
        assert_eq!(error.said(), "HubSpot said: \"<html>Bad gateway</html>\"");
    }
}
