//! An endpoint's failure: docker's status code and `{"message": ...}` body. The status comes
//! from the engine error's variant (`hull_engine::Error::http_status`: not found 404,
//! conflict 409, bad parameter 400, else 500).

use hull_engine::container::ContainerError;
use hull_engine::image::ImageError;

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 409,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            message: message.into(),
        }
    }

    pub fn body(&self) -> Vec<u8> {
        serde_json::json!({ "message": self.message })
            .to_string()
            .into_bytes()
    }
}

impl From<hull_engine::Error> for ApiError {
    fn from(e: hull_engine::Error) -> ApiError {
        let status = e.http_status();
        let mut message = e.to_string();
        // docker's "No such container: x", which its client prints as it is.
        if status == 404 && message.starts_with("no such ") {
            message.replace_range(..1, "N");
        }
        ApiError { status, message }
    }
}

impl From<ContainerError> for ApiError {
    fn from(e: ContainerError) -> ApiError {
        match e {
            // docker's words, which its client prints after "Error response from daemon: ".
            ContainerError::NotFound(n) => ApiError::not_found(format!("No such container: {n}")),
            ContainerError::NameInUse(_) => ApiError::conflict(e.to_string()),
            ContainerError::Ambiguous(_) => ApiError::bad(e.to_string()),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        match e {
            ImageError::NotFound(n) => ApiError::not_found(format!("No such image: {n}")),
            _ => ApiError::internal(e.to_string()),
        }
    }
}

impl From<hull_engine::engine::EngineError> for ApiError {
    fn from(e: hull_engine::engine::EngineError) -> ApiError {
        match e {
            hull_engine::engine::EngineError::Container(c) => c.into(),
            e => ApiError::internal(e.to_string()),
        }
    }
}
