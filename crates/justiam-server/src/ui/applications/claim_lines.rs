//! Claim mappings as the application form writes them: one per line, `claim = value` or
//! `claim @ scope = value`. Only the shape of a line is read here; every rule about claims,
//! values and scopes is the service's, and its refusals are told back by line number.

use justiam_types::application::ClaimMapping;

/// The mappings typed in the box, with the line (counted from 1) each one came from.
#[derive(Debug, Default, PartialEq)]
pub struct ClaimLines {
    pub mappings: Vec<ClaimMapping>,
    /// `lines[i]` is the line of `mappings[i]`: the service names a mapping by index.
    lines: Vec<usize>,
}

impl ClaimLines {
    /// Reads the box: blank lines are skipped, anything else must be a mapping. The error is a
    /// plain sentence naming the first line that is not one.
    pub fn parse(text: &str) -> Result<ClaimLines, String> {
        let mut out = ClaimLines::default();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            out.mappings.push(parse_line(line).ok_or_else(|| {
                format!(
                    "Line {number} is not a mapping: write claim = value, or claim @ scope = value."
                )
            })?);
            out.lines.push(number);
        }
        Ok(out)
    }

    /// The box's text for stored mappings, one line each.
    pub fn format(mappings: &[ClaimMapping]) -> String {
        mappings
            .iter()
            .map(Self::line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// One mapping as the box writes it (and the application's page shows it).
    pub fn line(m: &ClaimMapping) -> String {
        match &m.required_scope {
            Some(scope) => format!("{} @ {scope} = {}", m.claim, m.value),
            None => format!("{} = {}", m.claim, m.value),
        }
    }

    /// A service message about the mappings in the form's words, a mapping told by its line:
    /// `claim_mappings[1].claim "sub" is …` → `Line 3: the claim "sub" is …`.
    pub fn explain(&self, message: &str) -> String {
        if let Some(rest) = message.strip_prefix("claim_mappings ") {
            return format!("Claim mappings {rest}");
        }
        let Some(rest) = message.strip_prefix("claim_mappings[") else {
            return message.to_owned();
        };
        let Some((index, rest)) = rest.split_once(']') else {
            return message.to_owned();
        };
        let Some(line) = index.parse::<usize>().ok().and_then(|i| self.lines.get(i)) else {
            return message.to_owned();
        };
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        // `required_scope` reads as "the scope" beside a line that wrote `@ scope`.
        let rest = rest
            .strip_prefix("required_scope")
            .map_or_else(|| rest.to_owned(), |r| format!("scope{r}"));
        format!("Line {line}: the {rest}")
    }
}

/// `claim = value` or `claim @ scope = value`: the claim is everything before the first `=` (and
/// before an `@` in it), so a claim name holding `=` or `@` can only be set through the API.
fn parse_line(line: &str) -> Option<ClaimMapping> {
    let (left, value) = line.split_once('=')?;
    let (claim, required_scope) = match left.split_once('@') {
        Some((claim, scope)) => (claim.trim(), Some(scope.trim())),
        None => (left.trim(), None),
    };
    if claim.is_empty() || required_scope.is_some_and(str::is_empty) {
        return None;
    }
    Some(ClaimMapping {
        claim: claim.to_owned(),
        value: value.trim().to_owned(),
        required_scope: required_scope.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(claim: &str, scope: Option<&str>, value: &str) -> ClaimMapping {
        ClaimMapping {
            claim: claim.to_owned(),
            value: value.to_owned(),
            required_scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn reads_both_shapes_and_skips_blank_lines() {
        let parsed =
            ClaimLines::parse("\n tenant = acme \n\nlevel @ hr.read = ${grade}\n").expect("parses");
        assert_eq!(
            parsed.mappings,
            [
                mapping("tenant", None, "acme"),
                mapping("level", Some("hr.read"), "${grade}"),
            ]
        );
        assert_eq!(parsed.lines, [2, 4]);
        // A value may hold `=` and `@`; only the first `=` splits.
        let parsed = ClaimLines::parse("filter = a=b@c").expect("parses");
        assert_eq!(parsed.mappings, [mapping("filter", None, "a=b@c")]);
    }

    #[test]
    fn names_the_line_that_is_not_a_mapping() {
        for bad in ["just words", "= value", "claim @ = value", " @ scope = v"] {
            let text = format!("ok = 1\n\n{bad}");
            assert_eq!(
                ClaimLines::parse(&text),
                Err(
                    "Line 3 is not a mapping: write claim = value, or claim @ scope = value."
                        .to_owned()
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn formats_what_it_parses() {
        let stored = [
            mapping("tenant", None, "acme"),
            mapping("level", Some("hr.read"), "${grade}"),
        ];
        let text = ClaimLines::format(&stored);
        assert_eq!(text, "tenant = acme\nlevel @ hr.read = ${grade}");
        assert_eq!(ClaimLines::parse(&text).expect("parses").mappings, stored);
    }

    #[test]
    fn tells_refusals_by_line() {
        let parsed = ClaimLines::parse("a = 1\n\nsub = x").expect("parses");
        assert_eq!(
            parsed.explain(
                "claim_mappings[1].claim \"sub\" is set by JustIAM itself and cannot be mapped"
            ),
            "Line 3: the claim \"sub\" is set by JustIAM itself and cannot be mapped"
        );
        assert_eq!(
            parsed.explain("claim_mappings[0].required_scope \"x\" is not in allowed_scopes"),
            "Line 1: the scope \"x\" is not in allowed_scopes"
        );
        assert_eq!(
            parsed.explain("claim_mappings must hold at most 50 mappings"),
            "Claim mappings must hold at most 50 mappings"
        );
        // An index it does not know: as the service said it.
        let message = "claim_mappings[7].claim repeats \"a\"";
        assert_eq!(parsed.explain(message), message);
    }
}
