//! volley-grpc-codec: tonic's `Codec` for dynamic protobuf messages (prost-reflect's
//! `DynamicMessage`), shared by the engine's gRPC client and the demo shop's gRPC server:
//! it encodes any message and decodes those of one type. The wire format is prost's and
//! the framing tonic's; nothing here writes protobuf by hand.

use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// Encodes dynamic messages and decodes messages of `desc`'s type.
#[derive(Clone)]
pub struct DynamicCodec {
    desc: MessageDescriptor,
    /// The status of a message that does not decode.
    bad_message: Code,
}

impl DynamicCodec {
    /// A client's codec: `desc` is the answers' type; one that does not decode is
    /// `INTERNAL`.
    pub fn client(desc: MessageDescriptor) -> Self {
        DynamicCodec {
            desc,
            bad_message: Code::Internal,
        }
    }

    /// A server's codec: `desc` is the requests' type; one that does not decode is
    /// `INVALID_ARGUMENT`.
    pub fn server(desc: MessageDescriptor) -> Self {
        DynamicCodec {
            desc,
            bad_message: Code::InvalidArgument,
        }
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicCodec;
    type Decoder = DynamicCodec;

    fn encoder(&mut self) -> Self::Encoder {
        self.clone()
    }

    fn decoder(&mut self) -> Self::Decoder {
        self.clone()
    }
}

impl Encoder for DynamicCodec {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        prost::Message::encode(&item, dst).map_err(|e| Status::internal(e.to_string()))
    }
}

impl Decoder for DynamicCodec {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.desc.clone(), src)
            .map(Some)
            .map_err(|e| Status::new(self.bad_message, e.to_string()))
    }
}
