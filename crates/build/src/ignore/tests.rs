use super::*;

fn ig(text: &str) -> Ignore {
    Ignore::parse(text).unwrap()
}

#[test]
fn clean_paths() {
    assert_eq!(clean("/a/./b//c/"), "a/b/c");
    assert_eq!(clean("a/../b"), "b");
    assert_eq!(clean("../x"), "../x");
    assert_eq!(clean(""), ".");
}

#[test]
fn star_question_and_classes() {
    let i = ig("*.log\nsrc/?.tmp\n[ab]c\n[!x]y\n");
    assert!(i.ignored("a.log"));
    assert!(!i.ignored("dir/a.log"), "* does not cross /");
    assert!(i.ignored("src/1.tmp"));
    assert!(!i.ignored("src/12.tmp"));
    assert!(i.ignored("ac") && i.ignored("bc") && !i.ignored("cc"));
    assert!(i.ignored("zy") && !i.ignored("xy"));
}

#[test]
fn double_star() {
    let i = ig("**/*.o\nbuild/**\ndocs/**/x.md\n");
    assert!(i.ignored("a.o"));
    assert!(i.ignored("d/e/f.o"));
    assert!(i.ignored("build/x/y"));
    assert!(i.ignored("docs/x.md"));
    assert!(i.ignored("docs/a/b/x.md"));
    assert!(!i.ignored("docs/a/y.md"));
}

#[test]
fn directory_match_covers_children() {
    let i = ig("node_modules\n/abs/dir\n");
    assert!(i.ignored("node_modules"));
    assert!(i.ignored("node_modules/x/y.js"));
    assert!(!i.ignored("src/node_modules"), "no implicit **/ prefix");
    assert!(i.ignored("abs/dir/f"));
}

#[test]
fn negation_last_match_wins() {
    let i = ig("# comment\n  *.md  \n!README.md\nREADME*.md\n!README-keep.md\n\n");
    assert!(i.ignored("a.md"));
    assert!(i.ignored("README.md"), "a later pattern re-ignores it");
    assert!(!i.ignored("README-keep.md"));
    assert!(!i.ignored("x.txt"));
    let i = ig("data\n!data/keep\n");
    assert!(i.ignored("data/drop"));
    assert!(!i.ignored("data/keep"));
    assert!(!i.ignored("data/keep/inner"));
    assert!(i.has_exclusions());
    assert!(!ig("a\n").has_exclusions());
}

#[test]
fn escapes_and_errors() {
    let i = ig("a\\*b\n");
    assert!(i.ignored("a*b"));
    assert!(!i.ignored("axb"));
    assert!(Ignore::parse("!\n").is_err());
    assert!(Ignore::parse("[abc\n").is_err());
}
