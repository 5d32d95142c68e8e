//! Paths that leave the workspace: an artifact's path, a task's `produces` and `needs`, an
//! exec agent's `cwd` must stay inside it (`..` past its root is refused by the run; here
//! it is reported before the run, `bmad::path-outside`). And the files a workflow reads
//! outside the workspace: a probe's or health check's `ca_file` must be readable and hold
//! a certificate (`bmad::io`).

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::model::Backend;
use crate::model::step::{ArtifactRef, StepKind, Text, walk};
use std::path::Path;

/// Whether `path` leaves the workspace by `..`, read lexically from its root.
fn leaves(path: &str) -> bool {
    crate::script::host::confine(Path::new("/"), path).is_err()
}

fn report(t: &Text, what: &str, diags: &mut Vec<Diagnostic>) {
    if leaves(&t.value) {
        diags.push(
            Diagnostic::error(
                Code::PathOutside,
                format!("{what} `{}` leads outside the workspace", t.value),
            )
            .at(t.span, "`..` goes above the workspace's root")
            .help("paths are taken from the workspace root: write one inside it"),
        );
    }
}

/// A `ca_file` that cannot be read or holds no PEM certificate.
fn ca_file(p: &Program, t: &Text, diags: &mut Vec<Diagnostic>) {
    let path = p.path_from_file(t);
    if let Err(e) = crate::probe::tls::ca_certificates(&path) {
        diags.push(
            Diagnostic::error(Code::Io, e.to_string())
                .at(t.span, "not a readable file of PEM certificates")
                .help(
                    "give the path of the CA's certificate (PEM, `BEGIN CERTIFICATE`); a \
                     relative path is taken from this file's directory",
                ),
        );
    }
}

/// Reports every literal path of `p` that leaves the workspace, and every `ca_file` that
/// cannot be read.
pub(super) fn check(p: &Program, diags: &mut Vec<Diagnostic>) {
    for h in p.monitors.iter().flat_map(|m| &m.health) {
        if let Some(t) = &h.ca_file {
            ca_file(p, t, diags);
        }
    }
    for a in &p.artifacts {
        report(&a.path, "the artifact's path", diags);
    }
    // A notification file (not stdout, not a webhook) is written in the workspace.
    for to in p.notifications.iter().flat_map(|n| &n.to) {
        if to.value != "stdout" && !to.value.contains("://") {
            report(to, "the notification file", diags);
        }
    }
    for a in &p.agents {
        if let Some(Backend::Exec { cwd: Some(cwd), .. }) = &a.backend {
            report(cwd, "the working directory", diags);
        }
    }
    for body in p.bodies() {
        walk(body, &mut |s| {
            if let StepKind::Probe(probe) = &s.kind
                && let Some(t) = &probe.ca_file
            {
                ca_file(p, t, diags);
            }
            if let StepKind::Task(t) = &s.kind {
                for produced in t.produces.iter().filter_map(|p| p.path.as_ref()) {
                    report(produced, "the produced path", diags);
                }
                for needed in &t.needs {
                    if let ArtifactRef::Path(path) = needed {
                        report(path, "the needed path", diags);
                    }
                }
            }
        });
    }
}
