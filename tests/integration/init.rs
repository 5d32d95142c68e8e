//! `bmad init`: each template is written, checks clean and runs; nothing is overwritten.

use crate::common;

#[test]
fn each_template_is_written_checks_clean_and_runs() {
    for (name, file, _, _) in bmad::stdlib::TEMPLATES {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let out = common::bmad(&["init", d, "--template", name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.path().join(file);
        let checked = bmad::check_path(&path);
        assert!(
            checked.diagnostics.is_empty(),
            "{name}: {}",
            common::rendered(&checked)
        );
        let run = if *name == "operations" {
            common::bmad(&[
                "monitor",
                "--simulate",
                "--for",
                "1d",
                path.to_str().unwrap(),
                "--workspace",
                d,
            ])
        } else {
            common::bmad(&[
                "run",
                "--simulate",
                path.to_str().unwrap(),
                "--workspace",
                d,
            ])
        };
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        // A second init leaves the file alone.
        std::fs::write(&path, "// mine\n").unwrap();
        let again = common::bmad(&["init", d, "--template", name]);
        assert_eq!(again.status.code(), Some(2));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "// mine\n");
    }
    let out = common::bmad(&["init", "--template", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the templates are: product, operations")
    );
}
