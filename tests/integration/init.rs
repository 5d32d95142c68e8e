//! `bmad init`: each template is written, checks clean and runs; nothing is overwritten.

use crate::common;
use crate::harness::Test;

#[test]
fn each_template_is_written_checks_clean_and_runs() {
    for (name, file, _, _) in bmad::stdlib::TEMPLATES {
        let init = Test::new().args(&["init", ".", "--template", name]).run();
        let path = init.path().join(file);
        let checked = bmad::check_path(&path);
        assert!(
            checked.diagnostics.is_empty(),
            "{name}: {}",
            common::rendered(&checked)
        );
        let run = if *name == "operations" {
            ["monitor", "--simulate", "--for", "1d"].as_slice()
        } else {
            ["run", "--simulate"].as_slice()
        };
        Test::at(init.path())
            .args(run)
            .args(&[file, "--workspace", "."])
            .run();
        // A second init leaves the file alone.
        std::fs::write(&path, "// mine\n").unwrap();
        Test::at(init.path())
            .args(&["init", ".", "--template", name])
            .status(2)
            .run();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "// mine\n");
    }
    Test::new()
        .args(&["init", "--template", "nope"])
        .status(2)
        .stderr_contains("the templates are: product, operations")
        .run();
}
