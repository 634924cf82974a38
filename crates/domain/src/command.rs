//! The one entry point of the domain: `decide(&State, &Command, &Context)` and `evolve`.
//! A command targets one stream; its decision also reads the organisation (roles, members).

use std::fmt;

use crate::context::Context;
use crate::error::DomainError;
use crate::event::Event;
use crate::ids::{KpiId, OrgId, PodId};
use crate::kpi::{self, KpiCommand, KpiState};
use crate::org::{self, OrgCommand, OrgState};
use crate::pod::{self, PodCommand, PodState};

/// Any command of the domain.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// On the organisation of the context.
    Org(OrgCommand),
    /// On a pod's work.
    Pod {
        /// The pod.
        pod_id: PodId,
        /// The command.
        command: PodCommand,
    },
    /// On a KPI.
    Kpi {
        /// The KPI.
        kpi_id: KpiId,
        /// The command.
        command: KpiCommand,
    },
}

impl Command {
    /// The stream this command appends to, in organisation `org`.
    pub const fn target(&self, org: OrgId) -> Target {
        match self {
            Self::Org(_) => Target::Org(org),
            Self::Pod { pod_id, .. } => Target::Pod(*pod_id),
            Self::Kpi { kpi_id, .. } => Target::Kpi(*kpi_id),
        }
    }
}

/// A stream of the domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `org-<id>`.
    Org(OrgId),
    /// `pod-<id>`.
    Pod(PodId),
    /// `kpi-<id>`.
    Kpi(KpiId),
}

/// The kind of aggregate a stream holds, from its name's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamCategory {
    /// `org-`.
    Org,
    /// `pod-`.
    Pod,
    /// `kpi-`.
    Kpi,
}

impl StreamCategory {
    /// The category of a stream name, if it is one of ours.
    pub fn of(stream: &str) -> Option<Self> {
        match stream.split_once('-')?.0 {
            "org" => Some(Self::Org),
            "pod" => Some(Self::Pod),
            "kpi" => Some(Self::Kpi),
            _ => None,
        }
    }
}

impl Target {
    /// The stream's category.
    pub const fn category(&self) -> StreamCategory {
        match self {
            Self::Org(_) => StreamCategory::Org,
            Self::Pod(_) => StreamCategory::Pod,
            Self::Kpi(_) => StreamCategory::Kpi,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Org(id) => write!(f, "org-{id}"),
            Self::Pod(id) => write!(f, "pod-{id}"),
            Self::Kpi(id) => write!(f, "kpi-{id}"),
        }
    }
}

/// What a decision reads: the organisation, plus the state of the command's target stream
/// (the other target states stay at their defaults).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// The organisation.
    pub org: OrgState,
    /// The target pod, for pod commands.
    pub pod: PodState,
    /// The target KPI, for KPI commands.
    pub kpi: KpiState,
}

impl State {
    /// The version of the command's target stream.
    pub const fn target_version(&self, target: &Target) -> u64 {
        match target {
            Target::Org(_) => self.org.version,
            Target::Pod(_) => self.pod.version,
            Target::Kpi(_) => self.kpi.version,
        }
    }
}

/// Decides which events a command produces, or why it is refused. Pure: no IO, no clock.
pub fn decide(state: &State, command: &Command, ctx: &Context) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::Org(c) => Ok(org::decide(&state.org, c, ctx)?
            .into_iter()
            .map(Event::Org)
            .collect()),
        Command::Pod { pod_id, command } => {
            require_org(&state.org, ctx)?;
            Ok(pod::decide(&state.org, *pod_id, &state.pod, command, ctx)?
                .into_iter()
                .map(Event::Pod)
                .collect())
        }
        Command::Kpi { kpi_id, command } => {
            require_org(&state.org, ctx)?;
            Ok(kpi::decide(&state.org, *kpi_id, &state.kpi, command, ctx)?
                .into_iter()
                .map(Event::Kpi)
                .collect())
        }
    }
}

fn require_org(org: &OrgState, ctx: &Context) -> Result<(), DomainError> {
    if org.info.is_some() {
        Ok(())
    } else {
        Err(DomainError::not_found("orgId", "organisation", &ctx.org))
    }
}

/// Folds an event into the state it belongs to.
pub fn evolve(state: &mut State, event: &Event) {
    match event {
        Event::Org(e) => state.org.evolve(e),
        Event::Pod(e) => state.pod.evolve(e),
        Event::Kpi(e) => state.kpi.evolve(e),
    }
}
