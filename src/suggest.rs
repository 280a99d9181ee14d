//! "Did you mean" for a name that is not one of the spec's rows, templates, columns or
//! variants: the closest known name by Jaro-Winkler similarity (strsim), when it is close.

/// `; did you mean 'x'?` for the known name closest to `name`, or nothing when none is
/// close (similarity below 0.8, the threshold clap uses for its own suggestions).
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let folded = name.to_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&folded, &k.to_lowercase()), k))
        .filter(|(score, k)| *score >= 0.8 && *k != name)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean {}?", crate::quote::quote(k)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_close_name_only() {
        let known = ["caffe", "torchvision", "zjzstu"];
        assert_eq!(did_you_mean("torchvison", known), "; did you mean 'torchvision'?");
        assert_eq!(did_you_mean("Caffe", known), "; did you mean 'caffe'?");
        assert_eq!(did_you_mean("resnet", known), "");
        assert_eq!(did_you_mean("x", []), "");
    }
}
