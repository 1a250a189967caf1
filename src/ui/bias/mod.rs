//! The bias probes window (Analysis > Bias probes): WEAT tests (bundled, and one of the user's
//! own with editable word lists) on the loaded data sets, options, the results table with
//! Holm-corrected p-values, effect sizes with their 95% intervals side by side per data set,
//! the differences between data sets; the direct-bias probe with a chart of the most extreme
//! projections, and hard debiasing into a new data set.

mod inputs;
mod results;

use egui::Color32;

use crate::app::bias::BiasCommand;
use crate::app::{App, Command};
use crate::report::fmt::{p_value as fmt_p, short};

/// The window's own fields (not part of the app state).
#[derive(Debug, Clone, Default)]
pub struct BiasUi {
    pub open: bool,
    /// A JSON test file or word list to load into the user test.
    pub file: String,
    /// The results shown: WEAT's, or the direct bias (the probe run last).
    pub tab: Tab,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Weat,
    Direct,
}

/// Table cells hold names up to this many characters (the full name on hover).
const NAME_CHARS: usize = 36;

/// Colours of the data sets on the charts.
const PALETTE: [Color32; 6] = [
    Color32::from_rgb(66, 133, 244),
    Color32::from_rgb(234, 67, 53),
    Color32::from_rgb(52, 168, 83),
    Color32::from_rgb(251, 140, 0),
    Color32::from_rgb(142, 36, 170),
    Color32::from_rgb(0, 172, 193),
];

fn bias_cmd(cmds: &mut Vec<Command>, c: BiasCommand) {
    cmds.push(Command::Bias(c));
}

/// The window, while open.
pub fn window(app: &App, state: &mut BiasUi, ctx: &egui::Context, cmds: &mut Vec<Command>) {
    let mut open = state.open;
    crate::ui::two_pane_window(
        ctx,
        "Bias probes",
        "bias_inputs",
        360.0,
        (&mut open, state),
        |state, ui| inputs::inputs(app, state, ui, cmds),
        |state, ui| {
            egui::ScrollArea::vertical()
                .id_salt("bias_results")
                .auto_shrink([false, false])
                .show(ui, |ui| results::results(app, state, ui));
        },
    );
    state.open = open;
}
