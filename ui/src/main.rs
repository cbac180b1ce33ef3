//! The agent's window. Renders the shell's state; keeps no call state of its own.

mod app;
mod backend;
mod call_engine;
mod components;
mod paint_marks;
mod shortcuts;
mod shown_numbers;
mod state;
mod window_health;
mod wording;

fn main() {
    window_health::watch();
    yew::Renderer::<app::App>::new().render();
}
