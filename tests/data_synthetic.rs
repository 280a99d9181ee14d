//! Synthetic data and the `--data` argument syntax.

use std::path::PathBuf;

use archcheck::data::{DataSource, Dataset, parse_data_arg, synthetic};

#[test]
fn deterministic_in_seed_with_requested_shape() {
    let a = synthetic(50, 20, 5, 3, 12, 7);
    assert_eq!(a, synthetic(50, 20, 5, 3, 12, 7));
    assert_ne!(a.train.images, synthetic(50, 20, 5, 3, 12, 8).train.images);
    assert_ne!(
        a.train.images[..a.test.images.len()],
        a.test.images[..],
        "train and test use different noise"
    );
    for (d, n) in [(&a.train, 50), (&a.test, 20)] {
        assert_eq!((d.n, d.channels, d.height, d.width, d.classes), (n, 3, 12, 12, 5));
        assert_eq!(d.images.len(), n * 3 * 12 * 12);
        assert_eq!(d.class_names, vec!["class0", "class1", "class2", "class3", "class4"]);
    }
    assert_eq!(a.train.class_counts(), vec![10; 5]);
    assert_ne!(a.train.labels[..5], [0, 1, 2, 3, 4], "labels should be shuffled");
}

/// Nearest class mean: a stand-in for "a tiny model learns it in a few steps".
fn nearest_centroid_accuracy(train: &Dataset, test: &Dataset) -> f64 {
    let len = train.image_len();
    let mut means = vec![vec![0f64; len]; train.classes];
    for i in 0..train.n {
        for (m, &p) in means[train.labels[i] as usize].iter_mut().zip(train.image(i)) {
            *m += p as f64;
        }
    }
    let counts = train.class_counts();
    for (m, c) in means.iter_mut().zip(counts) {
        m.iter_mut().for_each(|v| *v /= c as f64);
    }
    let correct = (0..test.n)
        .filter(|&i| {
            let dist = |m: &Vec<f64>| {
                m.iter()
                    .zip(test.image(i))
                    .map(|(a, &b)| (a - b as f64).powi(2))
                    .sum::<f64>()
            };
            let best = (0..test.classes)
                .min_by(|&a, &b| dist(&means[a]).total_cmp(&dist(&means[b])))
                .unwrap();
            best == test.labels[i] as usize
        })
        .count();
    correct as f64 / test.n as f64
}

#[test]
fn classes_are_separable() {
    // 100 classes leave 3×3-pixel blocks and 20 images a class: a little below perfect.
    for (classes, channels, size, floor) in [(10, 1, 28, 0.99), (4, 3, 8, 0.99), (2, 1, 1, 0.9), (100, 1, 32, 0.9)] {
        let s = synthetic(classes * 20, classes * 5, classes, channels, size, 42);
        let acc = nearest_centroid_accuracy(&s.train, &s.test);
        assert!(
            acc >= floor,
            "{classes} classes {channels}×{size}×{size}: accuracy {acc}"
        );
    }
}

#[test]
fn parses_data_arguments() {
    assert_eq!(parse_data_arg("synthetic"), Ok(DataSource::Synthetic));
    assert_eq!(parse_data_arg("fashion-mnist"), Ok(DataSource::FashionMnist(None)));
    assert_eq!(
        parse_data_arg("fashion-mnist:/d/f"),
        Ok(DataSource::FashionMnist(Some(PathBuf::from("/d/f"))))
    );
    assert_eq!(
        parse_data_arg("imagefolder:imgs"),
        Ok(DataSource::ImageFolder(PathBuf::from("imgs")))
    );
    assert_eq!(
        parse_data_arg("imagefolder:C:/x"),
        Ok(DataSource::ImageFolder(PathBuf::from("C:/x")))
    );
    for s in ["synthetic", "fashion-mnist", "fashion-mnist:/d", "imagefolder:/x"] {
        assert_eq!(parse_data_arg(s).unwrap().to_string(), s);
        assert_eq!(s.parse::<DataSource>(), parse_data_arg(s));
    }
    let err = |s| parse_data_arg(s).unwrap_err().to_string();
    assert_eq!(
        err("mnist"),
        "unknown data source `mnist`, expected synthetic, fashion-mnist, fashion-mnist:DIR or imagefolder:DIR"
    );
    assert_eq!(
        err("imagefolder"),
        "data source `imagefolder` needs a directory: imagefolder:DIR"
    );
    assert_eq!(
        err("imagefolder:"),
        "data source `imagefolder:` needs a directory after `imagefolder:`"
    );
    assert_eq!(
        err("fashion-mnist:"),
        "data source `fashion-mnist:` needs a directory after `fashion-mnist:`"
    );
    assert_eq!(
        err("synthetic:x"),
        "data source `synthetic:x`: synthetic takes no directory"
    );
}
