//! Hand-computed metric tests: SPEC §6's worked example value by value, and the edge cases.
#![allow(clippy::float_cmp)] // hand-computed values are exact binary fractions or computed the same way

use podledger_domain::ids::BlockerId;
use podledger_domain::pod::{BlockerCategory, PodEvent};

use crate::metrics::{
    BlockerStats, VelocityByCause, backlog_churn_rate, blocker_stats, burndown, pod_metrics,
    sprint_metrics,
};
use crate::testkit::*;

fn worked_example() -> Script {
    let mut s = Script::new();
    s.item('a', 3).item('b', 5).item('c', 8).item('d', 2);
    s.plan(S1, 1)
        .commit(S1, "abc")
        .goal(S1, "ab")
        .at(1)
        .start(S1);
    s.at(10).add(S1, 'd').remove(S1, 'c').estimate('b', 8);
    s.at(200).done("abd").at(300).close(S1);
    s
}

#[test]
fn spec_worked_example_value_by_value() {
    let s = worked_example();
    let m = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    assert_eq!(m.committed_points, Some(16));
    assert_eq!(m.velocity, Some(13));
    assert_eq!(m.commitment_reliability, Some(0.5));
    assert_eq!(m.scope_churn, Some(0.8125));
    assert_eq!(m.task_completion, Some(1.0));
    assert_eq!(m.goal_met, Some(true));
    assert_eq!(
        m.velocity_by_cause,
        Some(VelocityByCause {
            committed_done: 8,
            reestimated_done: 3,
            added_done: 2,
            removed: 8,
            not_done: 0,
        })
    );
    let by_cause = m.velocity_by_cause.unwrap();
    let sum = i64::from(by_cause.committed_done)
        + by_cause.reestimated_done
        + i64::from(by_cause.added_done);
    assert_eq!(
        sum, 13,
        "velocity = committedDone + reestimatedDone + addedDone"
    );
    assert_eq!((m.additions, m.removals), (1, 1));
}

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
}

#[test]
fn the_worked_examples_burndown_day_by_day() {
    let s = worked_example();
    let sprint = s.pod.sprint(S1).unwrap();
    let days = burndown(sprint, day(31));
    // Jan 5 (start) to Jan 18 (end): the end date bounds it, not today.
    assert_eq!(days.len(), 14);
    assert_eq!((days[0].date, days[13].date), (day(5), day(18)));
    // Jan 5 ends after the scope changes: committed 16, +d(2), -c(8), b 5→8 → 13 points.
    assert_eq!((days[0].remaining, days[0].scope), (13, 13));
    // Unchanged days carry the day before, up to the done items of Jan 13 (hour 200).
    for d in &days[1..8] {
        assert_eq!((d.remaining, d.scope), (13, 13), "{}", d.date);
    }
    for d in &days[8..] {
        assert_eq!((d.remaining, d.scope), (0, 13), "{}", d.date);
    }
    // The ideal line: 16 on the start date to 0 on the end date, 13 days apart.
    assert_eq!(days[0].ideal, Some(16.0));
    assert_eq!(days[6].ideal, Some(16.0 * 7.0 / 13.0));
    assert_eq!(days[13].ideal, Some(0.0));
}

#[test]
fn a_burndown_stops_at_today_and_a_planned_sprint_has_scope_but_no_ideal_line() {
    let mut s = Script::new();
    s.item('a', 3).item('b', 5);
    s.plan(S1, 1).commit(S1, "ab");
    let planned = burndown(s.pod.sprint(S1).unwrap(), day(6));
    assert_eq!(planned.len(), 2, "Jan 5 and 6: today bounds it");
    assert_eq!((planned[1].remaining, planned[1].scope), (8, 8));
    assert_eq!(
        planned[1].ideal, None,
        "no committed points before the start"
    );
    // Started on the 5th; b done on the 7th (hour 50), re-estimated on the 8th (hour 75).
    s.at(1).start(S1).at(50).done("b").at(75).estimate('a', 5);
    let days = burndown(s.pod.sprint(S1).unwrap(), day(9));
    let points: Vec<(u32, u32)> = days.iter().map(|d| (d.remaining, d.scope)).collect();
    assert_eq!(points, [(8, 8), (8, 8), (3, 8), (5, 10), (5, 10)]);
    assert!(burndown(s.pod.sprint(S1).unwrap(), day(4)).is_empty());
}

#[test]
fn an_item_removed_and_added_again_counts_once_each_way_and_stays_committed() {
    let mut s = Script::new();
    s.item('a', 3).item('b', 2);
    s.plan(S1, 1).commit(S1, "ab").goal(S1, "a").at(1).start(S1);
    s.at(5).remove(S1, 'a').at(6).add(S1, 'a');
    s.at(7).done("a").at(8).close(S1);
    let m = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    assert_eq!(m.committed_points, Some(5));
    assert_eq!(m.scope_churn, Some((3.0 + 3.0) / 5.0));
    assert_eq!(m.velocity, Some(3));
    assert_eq!(m.commitment_reliability, Some(3.0 / 5.0));
    assert_eq!(m.task_completion, Some(0.5));
    assert_eq!(m.velocity_by_cause.unwrap().committed_done, 3);
    assert_eq!(m.velocity_by_cause.unwrap().added_done, 0);
    assert_eq!(m.velocity_by_cause.unwrap().not_done, 2);
}

#[test]
fn a_sprint_whose_committed_items_were_all_removed() {
    let mut s = Script::new();
    s.item('a', 3).item('b', 5);
    s.plan(S1, 1).commit(S1, "ab").goal(S1, "a").at(1).start(S1);
    s.at(2).remove(S1, 'a').remove(S1, 'b').at(3).close(S1);
    let m = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    assert_eq!(m.velocity, Some(0));
    assert_eq!(m.commitment_reliability, Some(0.0));
    assert_eq!(m.scope_churn, Some(1.0));
    assert_eq!(m.task_completion, None, "I1 is empty: undefined, not 0");
    assert_eq!(m.goal_met, Some(false));
    assert_eq!(m.velocity_by_cause.unwrap().removed, 8);
}

#[test]
fn zero_committed_points_make_reliability_and_churn_null() {
    let mut s = Script::new();
    s.item('a', 0);
    s.plan(S1, 1)
        .commit(S1, "a")
        .goal(S1, "a")
        .at(1)
        .start(S1)
        .at(2)
        .done("a")
        .close(S1);
    let m = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    assert_eq!(m.committed_points, Some(0));
    assert_eq!(m.commitment_reliability, None);
    assert_eq!(m.scope_churn, None);
    assert_eq!(m.velocity, Some(0));
    assert_eq!(m.task_completion, Some(1.0));
}

#[test]
fn a_planned_sprint_has_no_metrics_and_an_active_one_only_its_churn_so_far() {
    let mut s = Script::new();
    s.item('a', 4).item('b', 1);
    s.plan(S1, 1).commit(S1, "a").goal(S1, "a");
    let planned = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    assert_eq!(planned.committed_points, None);
    assert_eq!(planned.scope_churn, None);
    s.at(1).start(S1).at(2).add(S1, 'b');
    let active = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    assert_eq!(active.scope_churn, Some(0.25));
    assert_eq!(active.velocity, None);
    assert_eq!(active.task_completion, None);
    assert_eq!(active.goal_met, None);
}

#[test]
fn no_closed_sprints_leave_pod_rates_null() {
    let mut s = Script::new();
    s.item('a', 3).plan(S1, 1);
    let m = pod_metrics(&s.pod, None);
    assert_eq!(m.closed_sprints, 0);
    assert_eq!(m.average_velocity, None);
    assert_eq!(m.goal_completion_rate, None);
    assert_eq!(m.goals_without_escalation, None);
}

#[test]
fn pod_rates_over_closed_sprints_and_average_of_the_last_three() {
    let mut s = Script::new();
    let sprints: Vec<_> = (0..4)
        .map(|n| podledger_domain::ids::SprintId(id(200 + n)))
        .collect();
    let velocities = [2, 4, 6, 8];
    for (n, sprint) in sprints.iter().enumerate() {
        let name = char::from(b'a' + n as u8);
        let base = n as i64 * 400;
        s.at(base)
            .item(name, velocities[n])
            .plan(*sprint, n as u32 + 1)
            .commit(*sprint, &name.to_string());
        s.goal(*sprint, &name.to_string())
            .at(base + 1)
            .start(*sprint);
        if n == 1 {
            s.pod(PodEvent::BlockerRaised {
                blocker_id: BlockerId(id(900)),
                item_id: None,
                category: BlockerCategory::Approval,
                description: "legal".into(),
                raised_by: OWNER,
                at: h(base + 2),
            });
            s.pod(PodEvent::BlockerEscalated {
                blocker_id: BlockerId(id(900)),
                note: None,
                at: h(base + 3),
            });
        }
        if n != 2 {
            s.at(base + 5).done(&name.to_string());
        }
        s.at(base + 10).close(*sprint);
    }
    let m = pod_metrics(&s.pod, None);
    assert_eq!(m.closed_sprints, 4);
    // Last three closed: 4, 0 (sprint 3 delivered nothing), 8.
    assert_eq!(m.average_velocity, Some(4.0));
    assert_eq!(m.goal_completion_rate, Some(0.75));
    assert_eq!(m.goals_without_escalation, Some(0.5));
    let last_two = pod_metrics(&s.pod, Some(2));
    assert_eq!(last_two.goal_completion_rate, Some(0.5));
    for last_n in [None, Some(0), Some(1), Some(2), Some(3), Some(9)] {
        assert_eq!(
            pod_metrics(&s.pod, last_n),
            crate::metrics::pod_metrics_by_definition(&s.pod, last_n)
        );
    }
}

fn blockers(durations_h: &[i64], open: usize) -> BlockerStats {
    let mut s = Script::new();
    for (n, d) in durations_h.iter().enumerate() {
        let blocker_id = BlockerId(id(700 + n as u128));
        s.pod(PodEvent::BlockerRaised {
            blocker_id,
            item_id: None,
            category: if n % 2 == 0 {
                BlockerCategory::Tooling
            } else {
                BlockerCategory::Dependency
            },
            description: "x".into(),
            raised_by: OWNER,
            at: h(0),
        });
        s.pod(PodEvent::BlockerResolved {
            blocker_id,
            resolution: None,
            at: h(*d),
        });
    }
    for n in 0..open {
        s.pod(PodEvent::BlockerRaised {
            blocker_id: BlockerId(id(800 + n as u128)),
            item_id: None,
            category: BlockerCategory::External,
            description: "x".into(),
            raised_by: OWNER,
            at: h(24 * 40),
        });
    }
    let by_definition = blocker_stats(s.pod.blockers());
    assert_eq!(
        pod_metrics(&s.pod, None).blockers,
        by_definition,
        "the tally equals the definition"
    );
    by_definition
}

#[test]
fn blocker_median_with_an_odd_count_is_the_middle_value() {
    let b = blockers(&[10, 2, 50], 1);
    assert_eq!(b.median_hours, Some(10.0));
    assert_eq!((b.resolved, b.open), (3, 1));
    // p90 nearest rank: ⌈0.9·3⌉ = 3rd smallest.
    assert_eq!(b.p90_hours, Some(50.0));
    assert_eq!(b.share_within_48h, Some(2.0 / 3.0));
}

#[test]
fn blocker_median_with_an_even_count_is_the_mean_of_the_two_middle_values() {
    let b = blockers(&[1, 4, 10, 100], 0);
    assert_eq!(b.median_hours, Some(7.0));
    // ⌈0.9·4⌉ = 4th smallest.
    assert_eq!(b.p90_hours, Some(100.0));
    assert_eq!(b.share_within_48h, Some(0.75));
    let ten = blockers(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0);
    // ⌈0.9·10⌉ = 9th smallest.
    assert_eq!(ten.p90_hours, Some(9.0));
    assert_eq!(ten.median_hours, Some(5.5));
}

#[test]
fn blockers_are_counted_by_month_and_category_and_none_resolved_gives_nulls() {
    let b = blockers(&[1, 2, 3], 2);
    let counts: Vec<_> = b
        .by_month_and_category
        .iter()
        .map(|c| (c.month.as_str(), c.category, c.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("2026-01", BlockerCategory::Dependency, 1),
            ("2026-01", BlockerCategory::Tooling, 2),
            ("2026-02", BlockerCategory::External, 2),
        ]
    );
    let none = blockers(&[], 2);
    assert_eq!(
        (none.median_hours, none.p90_hours, none.share_within_48h),
        (None, None, None)
    );
}

#[test]
fn backlog_churn_rate_counts_distinct_items_created_dropped_or_reranked_in_the_window() {
    let mut s = Script::new();
    // Before the window: a, b, c, x open; z done before the window starts.
    s.at(0)
        .item('a', 1)
        .item('b', 1)
        .item('c', 1)
        .item('x', 1)
        .item('z', 1);
    s.plan(S2, 9)
        .commit(S2, "z")
        .goal(S2, "z")
        .start(S2)
        .done("z")
        .at(5)
        .close(S2);
    // Window [10, 20): create d, drop b, re-rank a twice, re-rank the new d.
    s.at(10).item('d', 1);
    s.pod(PodEvent::ItemDropped {
        item_id: item_id('b'),
    });
    s.at(12)
        .pod(PodEvent::ItemRanked {
            item_id: item_id('a'),
            before: None,
        })
        .pod(PodEvent::ItemRanked {
            item_id: item_id('a'),
            before: Some(item_id('c')),
        })
        .pod(PodEvent::ItemRanked {
            item_id: item_id('d'),
            before: None,
        });
    // After the window: a change that must not count.
    s.at(20).pod(PodEvent::ItemDropped {
        item_id: item_id('c'),
    });
    // Distinct {d, b, a} = 3; open at start {a, b, c, x} = 4, created in window 1.
    assert_eq!(backlog_churn_rate(&s.pod, h(10), h(20)), Some(3.0 / 5.0));
}

#[test]
fn an_empty_backlog_has_no_churn_rate() {
    let s = Script::new();
    assert_eq!(backlog_churn_rate(&s.pod, h(0), h(10)), None);
}

#[test]
fn a_closed_sprint_reports_the_backlog_churn_of_its_window() {
    let mut s = Script::new();
    s.at(0).item('a', 1).item('b', 2);
    s.plan(S1, 1).commit(S1, "a").goal(S1, "a").at(1).start(S1);
    s.at(2).item('c', 3);
    s.at(3).pod(PodEvent::ItemRanked {
        item_id: item_id('b'),
        before: None,
    });
    s.at(4).done("a").at(5).close(S1);
    let m = sprint_metrics(&s.pod, s.pod.sprint(S1).unwrap());
    // Window [1, 5): created c, re-ranked b → 2; open at t0: a, b → 2, + 1 created.
    assert_eq!(m.backlog_churn_rate, Some(2.0 / 3.0));
}
