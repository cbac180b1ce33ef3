use yew::prelude::*;

use crate::state::Section;

#[derive(Properties, PartialEq)]
pub struct SectionPageProps {
    pub section: Section,
}

/// The body of each section. Each states plainly what it will hold until its feature lands.
#[function_component(SectionPage)]
pub fn section_page(props: &SectionPageProps) -> Html {
    let section = props.section;
    let summary = match section {
        Section::Dialer => "Place calls by number or from a lead. Calling needs a connected call engine.",
        Section::Leads => "Your lead list, searchable offline. No leads imported yet.",
        Section::Calls => "Every call you make or receive. No calls yet.",
        Section::Settings => "Telnyx credentials, default region, audio devices and the call engine.",
    };
    html! {
        <section id={format!("section-{}", section.slug())} class="section-page">
            <h1>{ section.label() }</h1>
            <p class="summary">{ summary }</p>
        </section>
    }
}
