//! The overall risk of running a list: a level and the reasons that raised it, read off the
//! errors, warnings and per-task assessments already computed (no second look at the texts).

use super::{Risk, RiskLevel, TaskAssessment, ValidationError, ValidationWarning, WarningKind};
use crate::plan::classify::Complexity;

pub(super) fn assess_risk(
    errors: &[ValidationError],
    warnings: &[ValidationWarning],
    tasks: &[TaskAssessment],
    total_secs: u64,
) -> Risk {
    let mut level = RiskLevel::Low;
    let mut reasons = Vec::new();
    let mut raise = |l: RiskLevel, why: String| {
        level = level.max(l);
        reasons.push(why);
    };
    let count = |k: WarningKind| warnings.iter().filter(|w| w.kind == k).count();

    if !errors.is_empty() {
        raise(
            RiskLevel::High,
            format!("{} error(s): the list cannot run as written", errors.len()),
        );
    }
    let refused = count(WarningKind::TooLong) + count(WarningKind::ContainsNul);
    if refused > 0 {
        raise(
            RiskLevel::High,
            format!("{refused} task(s) would be refused by cc_execute (too long or NUL bytes)"),
        );
    }
    let extreme = tasks
        .iter()
        .filter(|t| t.complexity == Complexity::Extreme)
        .count();
    let high = tasks
        .iter()
        .filter(|t| t.complexity == Complexity::High)
        .count();
    match extreme {
        0 => {}
        1..=2 => raise(
            RiskLevel::Medium,
            format!("{extreme} extreme task(s): consider splitting them"),
        ),
        _ => raise(
            RiskLevel::High,
            format!("{extreme} extreme tasks: split them into smaller steps"),
        ),
    }
    if high > 3 {
        raise(RiskLevel::Medium, format!("{high} high-complexity tasks"));
    }
    let hours = total_secs as f64 / 3600.0;
    if total_secs > 4 * 3600 {
        raise(
            RiskLevel::High,
            format!("about {hours:.1} h in total (sum of predictions)"),
        );
    } else if total_secs > 3600 {
        raise(
            RiskLevel::Medium,
            format!("about {hours:.1} h in total (sum of predictions)"),
        );
    }
    let risky = count(WarningKind::Interactive) + count(WarningKind::LeadingDash);
    if risky > 0 {
        raise(
            RiskLevel::Medium,
            format!("{risky} prompt(s) with interactive phrasing or a leading `-`"),
        );
    }
    let refs = count(WarningKind::ImplicitReference);
    if refs > 0 {
        raise(
            RiskLevel::Medium,
            format!("{refs} reference(s) to other tasks that are not declared dependencies"),
        );
    }
    let dups = count(WarningKind::DuplicateTask);
    if dups > 0 {
        raise(RiskLevel::Medium, format!("{dups} duplicate task(s)"));
    }
    let vague = count(WarningKind::TooVague);
    if vague > 0 {
        raise(RiskLevel::Medium, format!("{vague} vague task(s)"));
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "no errors and no risky prompts; {} task(s), about {:.0} min in total",
            tasks.len(),
            total_secs as f64 / 60.0
        ));
    }
    Risk { level, reasons }
}
