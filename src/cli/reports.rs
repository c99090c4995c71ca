//! pvs, vgs, lvs (wiring to crate::report in progress).
use super::context::Ctx;
use super::CmdError;

#[derive(clap::Args, Debug)]
pub struct PvsArgs {}
#[derive(clap::Args, Debug)]
pub struct VgsArgs {}
#[derive(clap::Args, Debug)]
pub struct LvsArgs {}

pub fn pvs(_: &mut Ctx, _: PvsArgs) -> Result<(), CmdError> {
    Err(CmdError::failed("wip"))
}
pub fn vgs(_: &mut Ctx, _: VgsArgs) -> Result<(), CmdError> {
    Err(CmdError::failed("wip"))
}
pub fn lvs(_: &mut Ctx, _: LvsArgs) -> Result<(), CmdError> {
    Err(CmdError::failed("wip"))
}
