use super::*;

fn vars() -> Vec<(String, String)> {
    vec![
        ("A".into(), "apple".into()),
        ("E".into(), "".into()),
        ("S".into(), "two  words".into()),
    ]
}

fn x(w: &str) -> String {
    expand(w, '\\', &vars()).unwrap()
}

#[test]
fn plain_and_braced() {
    assert_eq!(x("$A/${A}/$NOPE/x"), "apple/apple//x");
    assert_eq!(x("$"), "$");
    assert_eq!(x("a$"), "a$");
    assert_eq!(x("$A_B"), "");
    assert_eq!(x("${A}_B"), "apple_B");
}

#[test]
fn modifiers() {
    assert_eq!(x("${A:-d}"), "apple");
    assert_eq!(x("${E:-d}"), "d");
    assert_eq!(x("${E-d}"), "");
    assert_eq!(x("${NOPE-d}"), "d");
    assert_eq!(x("${A:+alt}"), "alt");
    assert_eq!(x("${E:+alt}"), "");
    assert_eq!(x("${E+alt}"), "alt");
    assert_eq!(x("${NOPE:+alt}"), "");
    assert_eq!(x("${NOPE:-$A}"), "apple");
    assert_eq!(x("${NOPE:-a b}"), "a b");
    assert_eq!(
        expand("${NOPE:?must be set}", '\\', &vars()).unwrap_err(),
        "NOPE: must be set"
    );
    assert!(expand("${A", '\\', &vars()).is_err());
    assert!(expand("${A:%x}", '\\', &vars()).is_err());
}

#[test]
fn quotes_and_escapes() {
    assert_eq!(x("'$A'"), "$A");
    assert_eq!(x("\"$A\""), "apple");
    assert_eq!(x("\\$A"), "$A");
    assert_eq!(x("\"a\\\"b\\$A\\x\""), "a\"b$A\\x");
    assert_eq!(x("a\\ b"), "a b");
    assert_eq!(x("'a\\b'"), "a\\b");
    assert_eq!(x("\"two words\""), "two words");
    assert_eq!(expand("`$A", '`', &vars()).unwrap(), "$A");
    assert_eq!(expand("c:\\dir", '`', &vars()).unwrap(), "c:\\dir");
    assert!(expand("'open", '\\', &vars()).is_err());
}

#[test]
fn words_split_unquoted() {
    let w = |s: &str| expand_words(s, '\\', &vars()).unwrap();
    assert_eq!(w("80 $S"), vec!["80", "two", "words"]);
    assert_eq!(w("\"$S\" x"), vec!["two  words", "x"]);
    assert_eq!(w("'' a"), vec!["", "a"]);
    // One word keeps the expansion whole.
    assert_eq!(x("pre $S"), "pre two  words");
}
