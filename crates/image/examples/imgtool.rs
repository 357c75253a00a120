//! A small driver of the image store for benchmarks and manual checks, until (and beside)
//! the `hull` CLI: `imgtool ROOT load FILE | save FILE NAME... | seed | pull REF | list | rmi NAME`.

use std::path::Path;
use std::process::ExitCode;

use hull_image::{PullOptions, Store, TtyProgress};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!(
            "usage: imgtool ROOT load FILE | save FILE NAME... | seed | pull REF | list | rmi NAME"
        );
        return ExitCode::from(2);
    }
    let run = || -> Result<(), hull_image::ImageError> {
        let mut s = Store::open(Path::new(&args[0]))?;
        match (args[1].as_str(), &args[2..]) {
            ("load", [file]) => {
                for n in s.load(Path::new(file))? {
                    println!("Loaded image: {n}");
                }
            }
            ("save", [file, names @ ..]) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut f =
                    std::fs::File::create(file).map_err(|e| hull_image::ImageError::io(file, e))?;
                s.save(&names, &mut f)?;
            }
            ("seed", []) => println!("{}", s.seed_busybox(Path::new("/bin/busybox"))?),
            ("pull", [r]) => println!(
                "{}",
                s.pull(r, &PullOptions::default(), &mut TtyProgress::new())?
            ),
            ("list", []) => {
                for i in s.list()? {
                    println!("{} {:?} {}", &i.id[7..19], i.repo_tags, i.size);
                }
            }
            ("rmi", [n]) => {
                for l in s.remove(n, false)? {
                    println!("{l}");
                }
            }
            _ => {
                eprintln!("imgtool: bad arguments");
                std::process::exit(2);
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imgtool: {e}");
            ExitCode::FAILURE
        }
    }
}
