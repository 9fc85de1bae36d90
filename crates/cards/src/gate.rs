//! The CI gate: a card about a commit waits until CI for that commit is green. Pure: the
//! server hands in the runs it has stored and acts on the verdict.

use covalynce_domain::facts::{CiRunFacts, RunId};

/// One completed CI run for a commit (a GitHub workflow run or a generic `ci_run`).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub workflow: String,
    pub conclusion: String,
    /// Later runs (a re-run, a new attempt) sort higher.
    pub order: (i64, i64, i64),
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every workflow that counts finished green: announce. The latest of those runs, so a
    /// card's gate describes the run that released it.
    Green(Run),
    /// Nothing that counts has finished yet.
    Waiting,
    /// A workflow that counts is red (its latest run); the card stays held.
    Red(Run),
}

/// Conclusions that do not block an announcement (GitHub's vocabulary).
fn passes(conclusion: &str) -> bool {
    matches!(conclusion, "success" | "neutral" | "skipped")
}

/// The verdict for one commit. `required` names the workflows that count (empty: every
/// workflow seen for the commit); only each workflow's latest run counts, so a green
/// re-run clears an earlier red one.
pub fn verdict(runs: &[Run], required: &[String]) -> Verdict {
    let mut latest: Vec<&Run> = Vec::new();
    for run in runs {
        if !required.is_empty() && !required.iter().any(|w| w == &run.workflow) {
            continue;
        }
        match latest.iter_mut().find(|r| r.workflow == run.workflow) {
            Some(slot) if slot.order < run.order => *slot = run,
            Some(_) => {}
            None => latest.push(run),
        }
    }
    if let Some(red) = latest.iter().find(|r| !passes(&r.conclusion)) {
        return Verdict::Red((*red).clone());
    }
    let all_required_seen = required
        .iter()
        .all(|w| latest.iter().any(|r| &r.workflow == w));
    match latest.iter().max_by_key(|r| r.order) {
        Some(last) if all_required_seen => Verdict::Green((*last).clone()),
        _ => Verdict::Waiting,
    }
}

/// A stored CI event's run (and the commit it built), as the gate reads it. `stored_at`
/// breaks ties between runs that carry no number (generic `ci_run`s).
pub fn run_of(ci: &CiRunFacts, stored_at: i64) -> Option<(String, Run)> {
    let sha = ci.head_sha.clone()?;
    let number = match ci.run_id {
        Some(RunId::Number(n)) => n,
        _ => 0,
    };
    Some((
        sha,
        Run {
            workflow: ci.workflow.clone().unwrap_or_else(|| "workflow".into()),
            conclusion: ci.conclusion.clone().unwrap_or_else(|| "unknown".into()),
            order: (number, ci.attempt.unwrap_or(1), stored_at),
            url: ci.url.clone(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(w: &str, c: &str, id: i64, attempt: i64) -> Run {
        Run {
            workflow: w.into(),
            conclusion: c.into(),
            order: (id, attempt, 0),
            url: Some(format!("https://ci/{id}/{attempt}")),
        }
    }

    #[test]
    fn no_run_yet_waits_and_a_green_run_passes() {
        assert_eq!(verdict(&[], &[]), Verdict::Waiting);
        assert_eq!(
            verdict(&[run("CI", "success", 1, 1)], &[]),
            Verdict::Green(run("CI", "success", 1, 1))
        );
    }

    #[test]
    fn a_red_run_holds_until_a_later_attempt_is_green() {
        let red = run("CI", "failure", 1, 1);
        assert_eq!(
            verdict(std::slice::from_ref(&red), &[]),
            Verdict::Red(red.clone())
        );
        // The green verdict names the run that decided it, not the red one before.
        assert_eq!(
            verdict(&[red.clone(), run("CI", "success", 1, 2)], &[]),
            Verdict::Green(run("CI", "success", 1, 2))
        );
        // Order of arrival does not matter: the later attempt decides.
        assert_eq!(
            verdict(&[run("CI", "success", 1, 2), red.clone()], &[]),
            Verdict::Green(run("CI", "success", 1, 2))
        );
        // Another workflow's red still holds.
        assert!(matches!(
            verdict(&[run("CI", "success", 1, 2), run("Lint", "failure", 2, 1)], &[]),
            Verdict::Red(r) if r.workflow == "Lint"
        ));
    }

    #[test]
    fn only_named_workflows_count_and_all_of_them_must_finish() {
        let required = vec!["CI".to_owned(), "E2E".to_owned()];
        let runs = [run("Lint", "failure", 1, 1), run("CI", "success", 2, 1)];
        assert_eq!(verdict(&runs, &required), Verdict::Waiting);
        let runs = [
            run("Lint", "failure", 1, 1),
            run("CI", "success", 2, 1),
            run("E2E", "success", 3, 1),
        ];
        assert_eq!(
            verdict(&runs, &required),
            Verdict::Green(run("E2E", "success", 3, 1))
        );
    }
}
