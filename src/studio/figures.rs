//! An offer's figures over time: `GET /external/offer/{id}/stats` for the last 7 or 30 days,
//! drawn as an inline SVG chart (impressions, clicks and conversions per day), with the totals,
//! a table of the same numbers for screen readers, the variants' figures (CTR with its 95 %
//! interval, conversions, which variant leads and whether that is significant) and a CSV
//! export of the period (`GET /external/offer/{id}/stats.csv`).
//!
//! The chart's geometry ([`Chart::new`]) is plain Rust, tested natively; the component only
//! draws it. The figures themselves (totals, CTR, intervals, the comparison) are the API's,
//! computed by `offers_core::stats`.

use chrono::{Days, NaiveDate};
use leptos::prelude::*;
use leptos::task::spawn_local;

use offers_core::api::campaign::{ComparisonMetric, VariantComparison, VariantStats};

use super::api::{self, Credentials, DayStats, OfferStats};
use super::clock;

/// The chart's drawing size (the SVG scales to its box).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 44.0;

/// The preset ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Week,
    Month,
}

impl Range {
    pub const ALL: [Range; 2] = [Range::Week, Range::Month];

    pub const fn days(self) -> u64 {
        match self {
            Range::Week => 7,
            Range::Month => 30,
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Range::Week => "Last 7 days",
            Range::Month => "Last 30 days",
        }
    }

    /// The first and last day (inclusive) ending with `today`.
    pub fn span(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let from = today
            .checked_sub_days(Days::new(self.days() - 1))
            .unwrap_or(today);
        (from, today)
    }
}

/// A bar: its box in chart coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// One day's column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub date: String,
    /// The label under the column, when this column gets one.
    pub label: Option<String>,
    /// The label's centre.
    pub center: f64,
    /// The whole column, for the tooltip's hover area.
    pub band: Bar,
    pub impressions: Bar,
    pub clicks: Bar,
    pub conversions: Bar,
    /// The tooltip: `2026-11-21: 12 impressions, 3 clicks, 1 conversion`.
    pub tooltip: String,
}

/// A horizontal grid line and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub value: i64,
}

/// The chart of some days' impressions, clicks and conversions.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The plot area: left, top, right, bottom.
    pub plot: (f64, f64, f64, f64),
    pub ticks: Vec<Tick>,
    pub columns: Vec<Column>,
}

/// A step of 1, 2 or 5 × 10ⁿ giving at most `most` steps up to `max`.
fn nice_step(max: i64, most: i64) -> i64 {
    let mut magnitude = 1i64;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * magnitude;
            if max <= step * most {
                return step;
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// `2026-11-21` → `Nov 21`.
fn short_date(date: &str) -> String {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_or_else(|_| date.to_owned(), |d| d.format("%b %-d").to_string())
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Chart {
    /// The chart of `days` (oldest first).
    pub fn new(days: &[DayStats]) -> Self {
        let (left, top, right, bottom) = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM);
        let top_value = days
            .iter()
            .map(|d| d.impressions.max(d.clicks).max(d.conversions))
            .max()
            .unwrap_or(0)
            .max(1);
        let step = nice_step(top_value, 4);
        let y_max = step * ((top_value + step - 1) / step);
        let y_of = |value: i64| bottom - (bottom - top) * value as f64 / y_max as f64;
        let ticks = (0..=y_max / step)
            .map(|i| Tick {
                y: y_of(i * step),
                value: i * step,
            })
            .collect();
        let n = days.len().max(1);
        let band = (right - left) / n as f64;
        let bar_width = (band * 0.26).min(18.0);
        let label_every = n.div_ceil(8);
        let columns = days
            .iter()
            .enumerate()
            .map(|(i, day)| {
                let x = left + band * i as f64;
                let center = x + band / 2.0;
                let bar = |value: i64, x: f64| {
                    let y = y_of(value.max(0));
                    Bar {
                        x,
                        y,
                        width: bar_width,
                        height: bottom - y,
                    }
                };
                // Label the last day always, and every `label_every`-th day back from it.
                let labelled = (n - 1 - i).is_multiple_of(label_every);
                Column {
                    date: day.date.clone(),
                    label: labelled.then(|| short_date(&day.date)),
                    center,
                    band: Bar {
                        x,
                        y: top,
                        width: band,
                        height: bottom - top,
                    },
                    impressions: bar(day.impressions, center - 1.5 * bar_width - 1.0),
                    clicks: bar(day.clicks, center - 0.5 * bar_width),
                    conversions: bar(day.conversions, center + 0.5 * bar_width + 1.0),
                    tooltip: format!(
                        "{}: {}, {}, {}",
                        day.date,
                        plural(day.impressions, "impression", "impressions"),
                        plural(day.clicks, "click", "clicks"),
                        plural(day.conversions, "conversion", "conversions")
                    ),
                }
            })
            .collect();
        Self {
            width: WIDTH,
            height: HEIGHT,
            plot: (left, top, right, bottom),
            ticks,
            columns,
        }
    }
}

/// A click-through rate (0.1234) as shown (`12.3 %`).
pub fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

/// Numbers with two decimals for SVG attributes.
fn n(value: f64) -> String {
    format!("{value:.2}")
}

/// The SVG chart.
#[component]
fn ChartView(chart: Chart, caption: String) -> impl IntoView {
    let (left, top, right, bottom) = chart.plot;
    let view_box = format!("0 0 {} {}", chart.width, chart.height);
    let grid = chart
        .ticks
        .iter()
        .map(|tick| {
            view! {
                <g class="chart__tick">
                    <line x1=n(left) x2=n(right) y1=n(tick.y) y2=n(tick.y) class="chart__grid" />
                    <text x=n(left - 6.0) y=n(tick.y + 4.0) text-anchor="end">{tick.value.to_string()}</text>
                </g>
            }
        })
        .collect_view();
    let columns = chart
        .columns
        .into_iter()
        .map(|c| {
            let label = c.label.map(|label| {
                view! {
                    <text x=n(c.center) y=n(bottom + 16.0) text-anchor="middle" class="chart__date">{label}</text>
                }
            });
            // The band covers the whole column, on top of the bars, and carries the tooltip. (The
            // `<title>` is the band's only child: leptos's `view!` creates an ambiguous tag such
            // as `title` in the SVG namespace only as a single child of an SVG element.)
            view! {
                <g class="chart__day" data-date=c.date>
                    <rect class="chart__bar chart__bar--impressions" x=n(c.impressions.x) y=n(c.impressions.y)
                        width=n(c.impressions.width) height=n(c.impressions.height) />
                    <rect class="chart__bar chart__bar--clicks" x=n(c.clicks.x) y=n(c.clicks.y)
                        width=n(c.clicks.width) height=n(c.clicks.height) />
                    <rect class="chart__bar chart__bar--conversions" x=n(c.conversions.x) y=n(c.conversions.y)
                        width=n(c.conversions.width) height=n(c.conversions.height) />
                    {label}
                    <rect class="chart__band" x=n(c.band.x) y=n(c.band.y) width=n(c.band.width) height=n(c.band.height)>
                        <title>{c.tooltip}</title>
                    </rect>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=view_box role="img" aria-label=caption focusable="false">
            {grid}
            <line class="chart__axis" x1=n(left) x2=n(right) y1=n(bottom) y2=n(bottom) />
            <line class="chart__axis" x1=n(left) x2=n(left) y1=n(top) y2=n(bottom) />
            {columns}
            <text class="chart__axis-label" x=n((left + right) / 2.0) y=n(chart.height - 6.0) text-anchor="middle">
                "Day"
            </text>
            <text class="chart__axis-label" x="12" y=n((top + bottom) / 2.0) text-anchor="middle"
                transform=format!("rotate(-90 12 {})", n((top + bottom) / 2.0))>
                "Per day"
            </text>
        </svg>
    }
}

/// The numbers of the chart as a table for screen readers (visually hidden).
#[component]
fn DaysTable(days: Vec<DayStats>, caption: String) -> impl IntoView {
    view! {
        <table class="visually-hidden figures__table" id="figures-table">
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">"Day"</th>
                    <th scope="col">"Impressions"</th>
                    <th scope="col">"Unique users"</th>
                    <th scope="col">"Clicks"</th>
                    <th scope="col">"Closes"</th>
                    <th scope="col">"Conversions"</th>
                </tr>
            </thead>
            <tbody>
                {days.into_iter().map(|d| {
                    let date = d.date.clone();
                    view! {
                    <tr data-date=date>
                        <th scope="row">{d.date}</th>
                        <td class="figures__day-impressions">{d.impressions}</td>
                        <td class="figures__day-users">{d.unique_users}</td>
                        <td class="figures__day-clicks">{d.clicks}</td>
                        <td class="figures__day-closes">{d.closes}</td>
                        <td class="figures__day-conversions">{d.conversions}</td>
                    </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A variant's letter: 0 → `A`, 1 → `B`, … (offers have at most five).
pub fn variant_label(index: u32) -> String {
    char::from_u32(u32::from(b'A') + index.min(25)).map_or_else(|| index.to_string(), String::from)
}

/// A rate with its 95 % interval, e.g. `4.0 % (2.1–7.5 %)`.
pub fn rate_with_interval(rate: f64, low: f64, high: f64) -> String {
    format!(
        "{:.1} % ({:.1}–{:.1} %)",
        rate * 100.0,
        low * 100.0,
        high * 100.0
    )
}

/// The sentence under the variants' table: which variant leads, by the metric the API compared
/// them by, and whether the API's two-proportion test finds the difference significant.
pub fn comparison_sentence(comparison: &VariantComparison, variants: &[VariantStats]) -> String {
    let metric = match comparison.metric {
        ComparisonMetric::Ctr => "CTR",
        ComparisonMetric::ConversionRate => "conversion rate",
    };
    let of = |index: u32| {
        variants
            .iter()
            .find(|v| v.variant == index)
            .map_or(0.0, |v| comparison.metric.rate(v))
    };
    let leader = variant_label(comparison.leader);
    let runner_up = variant_label(comparison.runner_up);
    let lead = format!(
        "Variant {leader} leads by {metric}: {} against {} for variant {runner_up}.",
        percent(of(comparison.leader)),
        percent(of(comparison.runner_up)),
    );
    match comparison.p_value {
        Some(p) if comparison.significant => {
            format!("{lead} The difference is significant (p = {p:.3}, below 0.05).")
        }
        Some(p) => format!(
            "{lead} The difference is not significant yet (p = {p:.3}; it needs to be below 0.05)."
        ),
        None => format!("{lead} Too few impressions to test the difference yet."),
    }
}

/// The variants' figures and which one leads.
#[component]
fn VariantsTable(
    variants: Vec<VariantStats>,
    comparison: Option<VariantComparison>,
) -> impl IntoView {
    let sentence = comparison.map(|c| comparison_sentence(&c, &variants));
    let leader = comparison.map(|c| c.leader);
    view! {
        <section class="figures__variants" aria-labelledby="figures-variants-heading">
            <h4 id="figures-variants-heading">"Variants"</h4>
            <table class="figures__variants-table">
                <thead>
                    <tr>
                        <th scope="col">"Variant"</th>
                        <th scope="col">"Impressions"</th>
                        <th scope="col">"Clicks"</th>
                        <th scope="col">"CTR (95 % interval)"</th>
                        <th scope="col">"Conversions"</th>
                        <th scope="col">"Conversion rate"</th>
                        <th scope="col">"Value"</th>
                    </tr>
                </thead>
                <tbody>
                    {variants.iter().map(|v| {
                        let leads = leader == Some(v.variant);
                        view! {
                            <tr data-variant=v.variant.to_string() class:figures__leader=leads>
                                <th scope="row">{variant_label(v.variant)}{leads.then_some(" (leads)")}</th>
                                <td>{v.impressions}</td>
                                <td>{v.clicks}</td>
                                <td class="figures__variant-ctr">{rate_with_interval(v.ctr, v.ctr_low, v.ctr_high)}</td>
                                <td>{v.conversions}</td>
                                <td>{percent(v.conversion_rate)}</td>
                                <td>{format!("{:.2}", v.conversion_value)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {sentence.map(|text| view! { <p class="figures__comparison">{text}</p> })}
        </section>
    }
}

/// A `data:` URL holding `csv`, for a download link.
fn csv_data_url(csv: &str) -> String {
    let encoded: String = js_sys::encode_uri_component(csv).into();
    format!("data:text/csv;charset=utf-8,{encoded}")
}

/// Downloads `csv` as `file_name` (a link clicked once, then removed).
fn download(csv: &str, file_name: &str) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link = document
        .create_element("a")
        .map_err(|_| "the browser refused to create a link")?;
    link.set_attribute("href", &csv_data_url(csv))
        .and_then(|()| link.set_attribute("download", file_name))
        .map_err(|_| "the browser refused the link")?;
    let body = document.body().ok_or("no body")?;
    body.append_child(&link)
        .map_err(|_| "the browser refused the link")?;
    if let Some(link) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&link) {
        link.click();
    }
    link.remove();
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Load {
    Loading,
    Loaded(OfferStats),
    Failed(String),
}

/// The offer whose figures are shown: its id and its name in the list.
pub type Chosen = Option<(i64, String)>;

/// The figures of the offer in `chosen`, with range presets; hidden while none is chosen.
#[component]
pub fn Figures(
    session: Signal<Option<Credentials>>,
    chosen: RwSignal<Chosen>,
    /// Bumped to reload (the list's Refresh).
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let range = RwSignal::new(Range::Week);
    let load = RwSignal::new(Load::Loading);
    let generation = StoredValue::new(0u64);

    Effect::new(move |_| {
        refresh.track();
        let range = range.get();
        let (Some(credentials), Some((id, _))) = (session.get(), chosen.get()) else {
            return;
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        load.set(Load::Loading);
        let (from, to) = range.span(clock::today_local());
        let (from, to) = (from.to_string(), to.to_string());
        let offset = clock::utc_offset_minutes();
        spawn_local(async move {
            let result = api::stats(&credentials, id, &from, &to, offset).await;
            if generation.get_value() != mine {
                return;
            }
            load.set(match result {
                Ok(stats) => Load::Loaded(stats),
                Err(failure) => Load::Failed(failure.describe()),
            });
        });
    });

    let exporting = RwSignal::new(false);
    let export_error = RwSignal::new(None::<String>);
    let export_csv = move |_| {
        let (Some(credentials), Some((id, _))) = (session.get_untracked(), chosen.get_untracked())
        else {
            return;
        };
        let (from, to) = range.get_untracked().span(clock::today_local());
        let (from, to) = (from.to_string(), to.to_string());
        let offset = clock::utc_offset_minutes();
        exporting.set(true);
        export_error.set(None);
        spawn_local(async move {
            let result = api::stats_csv(&credentials, id, &from, &to, offset).await;
            exporting.set(false);
            let outcome = match result {
                Ok(csv) => download(&csv, &format!("offer-{id}-{from}-{to}.csv")),
                Err(failure) => Err(failure.describe()),
            };
            export_error.set(outcome.err());
        });
    };

    let heading = move || {
        chosen
            .get()
            .map(|(id, name)| format!("Figures · #{id} {name}"))
            .unwrap_or_default()
    };
    let body = move || match load.get() {
        Load::Loading => view! { <p class="muted">"Loading the figures…"</p> }.into_any(),
        Load::Failed(reason) => view! { <p class="error" role="alert">{reason}</p> }.into_any(),
        Load::Loaded(stats) => {
            let caption = format!(
                "Impressions, clicks and conversions per day, {} to {}",
                stats.days.first().map_or("", |d| d.date.as_str()),
                stats.days.last().map_or("", |d| d.date.as_str()),
            );
            let empty = stats.impressions == 0 && stats.clicks == 0 && stats.closes == 0;
            let chart = Chart::new(&stats.days);
            view! {
                <dl class="figures__totals">
                    <div><dt>"Impressions"</dt><dd class="figures__impressions">{stats.impressions}</dd></div>
                    <div><dt>"Unique users"</dt><dd class="figures__users">{stats.unique_users}</dd></div>
                    <div><dt>"Clicks"</dt><dd class="figures__clicks">{stats.clicks}</dd></div>
                    <div><dt>"Closes"</dt><dd class="figures__closes">{stats.closes}</dd></div>
                    <div><dt>"CTR"</dt><dd class="figures__ctr">{percent(stats.ctr)}</dd></div>
                    <div><dt>"Conversions"</dt><dd class="figures__conversions">{stats.conversions}</dd></div>
                    <div><dt>"Conversion rate"</dt><dd class="figures__conversion-rate">{percent(stats.conversion_rate)}</dd></div>
                    <div><dt>"Value"</dt><dd class="figures__conversion-value">{format!("{:.2}", stats.conversion_value)}</dd></div>
                    {(stats.triggered > 0).then(|| view! {
                        <div><dt>"Trigger events"</dt><dd class="figures__triggered">{stats.triggered}</dd></div>
                    })}
                </dl>
                {empty.then(|| view! { <p class="muted">"No impressions, clicks or closes in this period."</p> })}
                <ul class="chart__legend" aria-hidden="true">
                    <li><span class="chart__swatch chart__swatch--impressions"></span>"Impressions"</li>
                    <li><span class="chart__swatch chart__swatch--clicks"></span>"Clicks"</li>
                    <li><span class="chart__swatch chart__swatch--conversions"></span>"Conversions"</li>
                </ul>
                <ChartView chart=chart caption=caption.clone() />
                <DaysTable days=stats.days caption=caption />
                {(!stats.variants.is_empty()).then(|| view! {
                    <VariantsTable variants=stats.variants comparison=stats.comparison />
                })}
            }
            .into_any()
        }
    };

    view! {
        <section class="figures" id="figures" aria-labelledby="figures-heading"
            hidden=move || chosen.with(Option::is_none)>
            <div class="figures__bar">
                <h3 id="figures-heading" tabindex="-1">{heading}</h3>
                <div role="group" aria-label="Period" class="figures__ranges">
                    {Range::ALL.into_iter().map(|r| view! {
                        <button type="button" class="toggle" aria-pressed=move || (range.get() == r).to_string()
                            on:click=move |_| range.set(r)>{r.label()}</button>
                    }).collect_view()}
                </div>
                <button type="button" class="btn figures__csv" on:click=export_csv
                    disabled=move || exporting.get()>
                    "Export CSV"<span class="visually-hidden">" of these days"</span>
                </button>
                <button type="button" class="btn" on:click=move |_| chosen.set(None)>
                    "Close"<span class="visually-hidden">" the figures"</span>
                </button>
            </div>
            <p class="muted figures__note">"Days in your local time zone."</p>
            {move || export_error.get().map(|reason| view! { <p class="error" role="alert">{reason}</p> })}
            <div aria-live="polite">{body}</div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, impressions: i64, clicks: i64) -> DayStats {
        DayStats {
            date: date.to_owned(),
            impressions,
            unique_users: 0,
            clicks,
            closes: 0,
            conversions: 0,
        }
    }

    #[test]
    fn ranges_end_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let (from, to) = Range::Week.span(today);
        assert_eq!(from.to_string(), "2026-02-24");
        assert_eq!(to, today);
        assert_eq!(Range::Month.span(today).0.to_string(), "2026-02-01");
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1, 4), 1);
        assert_eq!(nice_step(4, 4), 1);
        assert_eq!(nice_step(7, 4), 2);
        assert_eq!(nice_step(19, 4), 5);
        assert_eq!(nice_step(1234, 4), 500);
    }

    #[test]
    fn bars_scale_to_the_highest_value() {
        let chart = Chart::new(&[day("2026-11-20", 0, 0), day("2026-11-21", 7, 3)]);
        let (_, top, _, bottom) = chart.plot;
        // 7 rounds up to 8 in steps of 2: ticks 0, 2, 4, 6, 8.
        let values: Vec<_> = chart.ticks.iter().map(|t| t.value).collect();
        assert_eq!(values, [0, 2, 4, 6, 8]);
        assert_eq!(chart.ticks[0].y, bottom);
        assert_eq!(chart.ticks[4].y, top);
        let today = &chart.columns[1];
        assert!((today.impressions.height - (bottom - top) * 7.0 / 8.0).abs() < 1e-9);
        assert!((today.clicks.height - (bottom - top) * 3.0 / 8.0).abs() < 1e-9);
        assert_eq!(chart.columns[0].impressions.height, 0.0);
        assert_eq!(
            today.tooltip,
            "2026-11-21: 7 impressions, 3 clicks, 0 conversions"
        );
        assert_eq!(today.conversions.height, 0.0);
        assert!(today.impressions.x < today.clicks.x && today.clicks.x < today.conversions.x);
        assert_eq!(today.label.as_deref(), Some("Nov 21"));
    }

    #[test]
    fn thirty_days_get_a_few_labels() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let days: Vec<_> = (0..30)
            .map(|i| {
                let date = start.checked_add_days(Days::new(i)).unwrap();
                day(&date.to_string(), 0, 0)
            })
            .collect();
        let chart = Chart::new(&days);
        let labels = chart.columns.iter().filter(|c| c.label.is_some()).count();
        assert!((6..=8).contains(&labels), "{labels} labels");
        assert!(chart.columns[29].label.is_some());
        // An empty chart still has a scale.
        assert_eq!(chart.ticks.last().unwrap().value, 1);
        assert_eq!(percent(0.3333), "33.3 %");
    }

    fn variant(index: u32, impressions: i64, clicks: i64, conversions: i64) -> VariantStats {
        VariantStats {
            variant: index,
            impressions,
            clicks,
            closes: 0,
            ctr: offers_core::api::figures::ctr(clicks, impressions),
            ctr_low: 0.0,
            ctr_high: 0.0,
            conversions,
            conversion_value: 0.0,
            conversion_rate: offers_core::api::figures::ctr(conversions, impressions),
        }
    }

    #[test]
    fn variants_are_lettered_and_compared_in_words() {
        assert_eq!(variant_label(0), "A");
        assert_eq!(variant_label(4), "E");
        assert_eq!(rate_with_interval(0.04, 0.021, 0.075), "4.0 % (2.1–7.5 %)");
        let variants = [variant(0, 1000, 40, 0), variant(1, 1000, 70, 0)];
        let significant = VariantComparison {
            leader: 1,
            runner_up: 0,
            metric: ComparisonMetric::Ctr,
            p_value: Some(0.0044),
            significant: true,
        };
        assert_eq!(
            comparison_sentence(&significant, &variants),
            "Variant B leads by CTR: 7.0 % against 4.0 % for variant A. \
             The difference is significant (p = 0.004, below 0.05)."
        );
        let open = VariantComparison {
            p_value: Some(0.31),
            significant: false,
            ..significant
        };
        assert!(
            comparison_sentence(&open, &variants)
                .ends_with("not significant yet (p = 0.310; it needs to be below 0.05).")
        );
        let converting = [variant(0, 100, 10, 3), variant(1, 100, 12, 1)];
        let by_conversions = VariantComparison {
            leader: 0,
            runner_up: 1,
            metric: ComparisonMetric::ConversionRate,
            p_value: None,
            significant: false,
        };
        assert_eq!(
            comparison_sentence(&by_conversions, &converting),
            "Variant A leads by conversion rate: 3.0 % against 1.0 % for variant B. \
             Too few impressions to test the difference yet."
        );
    }
}
