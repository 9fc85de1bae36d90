// `sqlx::migrate!` embeds the migration files at compile time; without this a new file in
// `migrations/` would not trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
