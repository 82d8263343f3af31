//! The CPU history chart: the API's points as an SVG polyline, drawn on the server so the
//! page needs no charting script (and no inline style: geometry is in attributes).

use serde_json::{Value, json};

pub const WIDTH: f64 = 600.0;
pub const HEIGHT: f64 = 160.0;

/// `points` for an SVG polyline of `(unix seconds, percent)` over `[from, to]`, 0–100 %
/// bottom to top. Points outside the window are dropped.
pub fn polyline(data: &[(i64, f64)], from: i64, to: i64) -> String {
    let span = (to - from).max(1) as f64;
    data.iter()
        .filter(|(t, _)| (from..=to).contains(t))
        .map(|(t, pct)| {
            let x = (*t - from) as f64 / span * WIDTH;
            let y = HEIGHT - pct.clamp(0.0, 100.0) / 100.0 * HEIGHT;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The template's view of `GET /api/v1/server/cpu-history`'s result.
pub fn of_history(result: &Value, period_secs: i64) -> Value {
    let to = result["timestamp"].as_i64().unwrap_or_default();
    let data: Vec<(i64, f64)> = result["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| Some((p["timestamp"].as_i64()?, p["usagePercent"].as_f64()?))).collect())
        .unwrap_or_default();
    let grid: Vec<f64> = [0.25, 0.5, 0.75].iter().map(|f| HEIGHT * f).collect();
    json!({
        "points": polyline(&data, to - period_secs, to), "width": WIDTH, "height": HEIGHT,
        "samples": data.len(), "average": result["averageUsagePercent"], "max": result["maxUsagePercent"],
        "grid": grid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_window_bottom_to_top() {
        let p = polyline(&[(100, 0.0), (150, 50.0), (200, 100.0), (300, 10.0)], 100, 200);
        assert_eq!(p, "0.0,160.0 300.0,80.0 600.0,0.0");
        assert_eq!(polyline(&[(0, 250.0)], 0, 0), "0.0,0.0", "clamped, and an empty window does not divide by zero");
    }
}
