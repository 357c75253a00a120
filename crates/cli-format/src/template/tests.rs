use serde_json::json;

use super::*;

fn data() -> Value {
    json!({
        "Id": "0123456789abcdef",
        "Name": "/web",
        "Args": ["-c", "sleep 100"],
        "Config": {"Image": "busybox", "Labels": {"app": "shop", "tier": "front"}, "Env": null},
        "State": {"Running": true, "Pid": 4242, "ExitCode": 0, "Status": "running"},
        "Mounts": [
            {"Source": "/var/lib/hull/volumes/data/_data", "Destination": "/data"},
            {"Source": "/tmp/x", "Destination": "/x"}
        ],
        "Ratio": 0.5,
        "Health": null
    })
}

fn r(t: &str) -> String {
    render(t, &data()).unwrap_or_else(|e| panic!("{t}: {e}"))
}

#[test]
fn fields_and_text() {
    assert_eq!(r("{{.State.Pid}}"), "4242");
    assert_eq!(r("{{.Name}}\t{{.Id}}"), "/web\t0123456789abcdef");
    assert_eq!(r("{{.Name}}\\t{{.State.Status}}"), "/web\trunning");
    assert_eq!(r("pid={{ .State.Pid }}!"), "pid=4242!");
    assert_eq!(r("{{.State.Running}} {{.Ratio}}"), "true 0.5");
    assert_eq!(r("{{.Args}}"), "[-c sleep 100]");
    assert_eq!(r("{{.Config.Labels}}"), "map[app:shop tier:front]");
    assert_eq!(r("{{.Health}}"), "<nil>");
    assert_eq!(r("{{$.Name}}"), "/web");
    assert_eq!(r("a {{- \" b \" -}} c"), "a b c");
    assert_eq!(r("{{/* a comment */}}x"), "x");
}

#[test]
fn json_function() {
    assert_eq!(r("{{json .Args}}"), r#"["-c","sleep 100"]"#);
    assert_eq!(
        r("{{json .Config}}"),
        r#"{"Env":null,"Image":"busybox","Labels":{"app":"shop","tier":"front"}}"#
    );
    let whole: Value = serde_json::from_str(&r("{{json .}}")).unwrap();
    assert_eq!(whole, data());
    let whole: Value = serde_json::from_str(&r("json")).unwrap();
    assert_eq!(whole, data());
}

#[test]
fn index_range_if_with() {
    assert_eq!(r(r#"{{index .Config.Labels "app"}}"#), "shop");
    assert_eq!(r(r#"[{{index .Config.Labels "nope"}}]"#), "[]");
    assert_eq!(r("{{index .Args 1}}"), "sleep 100");
    assert_eq!(
        r("{{range .Mounts}}{{.Source}} {{end}}"),
        "/var/lib/hull/volumes/data/_data /tmp/x "
    );
    assert_eq!(
        r("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"),
        "app=shop;tier=front;"
    );
    assert_eq!(
        r("{{range $i, $a := .Args}}{{$i}}:{{$a}} {{end}}"),
        "0:-c 1:sleep 100 "
    );
    assert_eq!(r("{{range .Config.Env}}x{{else}}none{{end}}"), "none");
    assert_eq!(r("{{if .State.Running}}yes{{end}}"), "yes");
    assert_eq!(r("{{if .State.ExitCode}}yes{{else}}no{{end}}"), "no");
    assert_eq!(
        r(
            r#"{{if eq .State.Status "exited"}}E{{else if eq .State.Status "running"}}R{{else}}?{{end}}"#
        ),
        "R"
    );
    assert_eq!(r("{{with .Config}}{{.Image}}{{end}}"), "busybox");
    assert_eq!(r("{{with .Health}}x{{else}}no health{{end}}"), "no health");
    assert_eq!(r("{{$x := .State.Pid}}{{$x}}"), "4242");
    assert_eq!(
        r("{{if and .State.Running (gt .State.Pid 1)}}ok{{end}}"),
        "ok"
    );
    assert_eq!(r("{{if not .State.Running}}down{{else}}up{{end}}"), "up");
    assert_eq!(r("{{len .Mounts}}"), "2");
}

#[test]
fn string_functions() {
    assert_eq!(r("{{lower .State.Status | upper}}"), "RUNNING");
    assert_eq!(r("{{upper .Config.Image}}"), "BUSYBOX");
    assert_eq!(r("{{title .Config.Image}}"), "Busybox");
    assert_eq!(r(r#"{{join .Args ","}}"#), "-c,sleep 100");
    assert_eq!(r(r#"{{join (split "a:b:c" ":") "-"}}"#), "a-b-c");
    assert_eq!(r("{{truncate .Id 6}}"), "012345");
    assert_eq!(r("{{.Id | printf \"%.4s\"}}"), "0123");
    assert_eq!(
        r(r#"{{printf "%s has pid %d" .Name .State.Pid}}"#),
        "/web has pid 4242"
    );
    assert_eq!(
        r(r#"{{printf "%-6s|%5d|%05d" "ab" 42 -42}}"#),
        "ab    |   42|-0042"
    );
    assert_eq!(r(r#"{{printf "%.2f%%" .Ratio}}"#), "0.50%");
    assert_eq!(
        r(r#"{{printf "%q %v %x" "a\"b" .Args 255}}"#),
        r#""a\"b" [-c sleep 100] ff"#
    );
    assert_eq!(r(r#"{{printf "%d"}}"#), "%!d(MISSING)");
    assert_eq!(r(r#"{{print "a" 1 2 "b"}}"#), "a1 2b");
}

#[test]
fn unknown_field_names_it() {
    let e = render("{{.State.Pidd}}", &data()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(".State.Pidd"), "{msg}");
    assert!(msg.contains("Pid"), "lists known keys: {msg}");
    let e = render("{{.Health.Status}}", &data()).unwrap_err();
    assert!(e.to_string().contains(".Health.Status"), "{e}");
    let e = render("{{.Name.Sub}}", &data()).unwrap_err();
    assert!(e.to_string().contains("can't evaluate field Sub"), "{e}");
}

#[test]
fn bad_templates_are_parse_errors() {
    for bad in [
        "{{.Name",
        "{{if .State.Running}}x",
        "{{end}}",
        "{{else}}",
        "{{nosuchfunc .Name}}",
        "{{\"unterminated}}",
        "{{range .Args}}{{else if .X}}{{end}}",
        "{{(.Name}}",
        "{{.Name | }}",
        "{{ @ }}",
    ] {
        match Template::parse(bad) {
            Err(FormatError::Parse { .. }) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(render("{{.Name 1}}", &data()).is_err());
    assert!(render("{{$nope}}", &data())
        .unwrap_err()
        .to_string()
        .contains("$nope"));
}

#[test]
fn tables_have_titles_and_aligned_columns() {
    let rows = vec![
        json!({"ID": "abc", "Image": "busybox", "Names": "a-long-container-name"}),
        json!({"ID": "defdefdefdefdef", "Image": "debian:12", "Names": "b"}),
    ];
    let titles = [("ID", "CONTAINER ID"), ("Names", "NAMES")];
    let out = render_rows(
        Some("table {{.ID}}\t{{.Image}}\t{{.Names}}"),
        "",
        &rows,
        &titles,
    )
    .unwrap();
    let want = "\
CONTAINER ID      IMAGE       NAMES
abc               busybox     a-long-container-name
defdefdefdefdef   debian:12   b
";
    assert_eq!(out, want);
    // Without `table`: one line per row, no header.
    let out = render_rows(Some("{{.ID}}"), "", &rows, &titles).unwrap();
    assert_eq!(out, "abc\ndefdefdefdefdef\n");
    // `table` alone is the verb's default table.
    let out = render_rows(Some("table"), "table {{.Image}}", &rows, &titles).unwrap();
    assert_eq!(out, "IMAGE\nbusybox\ndebian:12\n");
    // Header titles from field names, and through functions.
    let out = render_rows(
        Some(r#"table {{.CreatedAt}}\t{{lower .Image}}\t{{index .Labels "x"}}"#),
        "",
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(out, "CREATED AT   image     LABELS\n");
}

#[test]
fn titles_split_camel_case() {
    let t = |p: &str| title_for(&[p.to_string()], &[]);
    assert_eq!(t("CreatedAt"), "CREATED AT");
    assert_eq!(t("ID"), "ID");
    assert_eq!(t("CPUPerc"), "CPU PERC");
    assert_eq!(t("Name"), "NAME");
}

#[test]
fn a_missing_map_key_prints_no_value_and_a_missing_field_fails() {
    assert_eq!(r("{{.Config.Labels.nokey}}"), "<no value>");
    assert_eq!(r("{{.Config.Labels.Nokey}}"), "<no value>");
    assert_eq!(r("{{if .Config.Labels.nokey}}yes{{else}}no{{end}}"), "no");
    assert!(render("{{.Config.NoSuchField}}", &data()).is_err());
}
