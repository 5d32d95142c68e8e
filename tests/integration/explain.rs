//! `bmad explain`: every code the checker can emit has a long explanation, whose wrong
//! example (when it is a `.bmad` text) gives that code and whose right example checks
//! clean of it.

use crate::common;
use crate::harness::Test;

use bmad::diagnostic::Code;
use bmad::explain::{examples, explanation};

#[test]
fn every_code_is_explained_with_a_wrong_and_a_right_example() {
    for code in Code::ALL {
        let text = explanation(code);
        assert!(
            text.starts_with(&format!("# {}: ", code.as_str())),
            "{code}: the explanation must start with `# {code}: title`"
        );
        let (wrong, right) = examples(text);
        assert!(
            !wrong.is_empty() && !right.is_empty(),
            "{code}: needs a wrong and a right example"
        );
        for (lang, src) in &wrong {
            if lang != "bmad" {
                continue;
            }
            let checked = bmad::check_text("wrong.bmad", src);
            assert!(
                checked.diagnostics.iter().any(|d| d.code == code),
                "{code}: its wrong example does not give it:\n{src}\n{}",
                common::rendered(&checked)
            );
        }
        for (lang, src) in &right {
            if lang != "bmad" {
                continue;
            }
            let checked = bmad::check_text("right.bmad", src);
            assert!(
                !checked.has_errors() && checked.diagnostics.iter().all(|d| d.code != code),
                "{code}: its right example is not clean:\n{src}\n{}",
                common::rendered(&checked)
            );
        }
    }
}

#[test]
fn the_cli_explains_lists_and_refuses_unknown_codes() {
    Test::new()
        .args(&["explain", "bmad::unit-mismatch"])
        .stdout_contains("## Wrong")
        .stdout_contains("metric response_time of api > 200ms")
        .run();
    let ran = Test::new().args(&["explain", "undefined"]).run();
    assert!(
        ran.stdout.starts_with("# bmad::undefined"),
        "{}",
        ran.stdout
    );
    let list = Test::new().arg("explain").run().stdout;
    assert_eq!(list.lines().count(), Code::ALL.len(), "{list}");
    Test::new()
        .args(&["explain", "undefnied"])
        .status(2)
        .stderr_contains("did you mean `bmad::undefined`")
        .run();
}

#[test]
fn bmad_check_ends_with_how_to_read_about_the_first_error() {
    crate::harness::Test::new()
        .workflow(
            r#"
            phase build {
              ghost: haunt
            }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .status(1)
        .stderr_contains(
            "run `bmad explain bmad::undefined` for what the first error means, with a wrong \
             and a right example",
        )
        .run();
    // A clean file has no hint.
    crate::harness::Test::new()
        .workflow("workflow w { start build }\nphase build { wait 1s }\n")
        .args(&["check", "flow.bmad"])
        .stderr_lacks("bmad explain")
        .run();
}
