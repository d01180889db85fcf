//! Pure algorithms with no I/O, checked against reference implementations (pandas, numpy,
//! scipy, scikit-learn, imbalanced-learn).

pub mod drift;
pub mod ecdf;
pub mod gate;
pub mod impute;
pub mod knn;
pub mod ks;
pub mod logistic;
pub mod lstm_cell;
pub mod metrics;
pub mod network;
pub mod outliers;
pub mod parallel;
pub mod rng;
pub mod rolling;
pub mod scaler;
pub mod smote;
pub mod spectral;
pub mod training;
pub mod verdict;
pub mod weights;
pub mod windows;
