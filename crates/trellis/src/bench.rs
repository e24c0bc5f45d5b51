//! `trellis bench`: each benchmark prints its figure beside the bare
//! reference operation measured in the same run.

#[derive(clap::Subcommand)]
pub enum BenchCommand {}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {}
}
