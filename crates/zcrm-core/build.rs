// Embeds every standard-module definition under data/modules/ so that adding a
// module is adding a file.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("data/modules");
    println!("cargo:rerun-if-changed=data/modules");
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("pub(crate) static MODULE_FILES: &[(&str, &str)] = &[\n");
    for n in &names {
        let abs = fs::canonicalize(dir.join(n)).expect("module file");
        println!("cargo:rerun-if-changed={}", abs.display());
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("module_files.rs");
    fs::write(dest, out).unwrap();
}
