package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Conversions between protobuf messages and Netty buffers shared by client and server. */
final class Payloads {
    private Payloads() {
    }

    static ByteBuf toByteBuf(MessageLite message) {
        return Unpooled.wrappedBuffer(message.toByteArray());
    }

    static <T> T parse(Parser<T> parser, ByteBuf buf) throws InvalidProtocolBufferException {
        return parser.parseFrom(buf.nioBuffer());
    }

    /** What a handler's stage completed with, as response bytes (see {@link MethodHandler}). */
    static ByteString fromHandlerResult(Object result) {
        if (result == null) {
            return ByteString.EMPTY;
        }
        if (result instanceof ByteString) {
            return (ByteString) result;
        }
        if (result instanceof MessageLite) {
            return ((MessageLite) result).toByteString();
        }
        throw new TtrpcException(TtrpcCode.INTERNAL, "handler completed with a "
                + result.getClass().getName() + ", expected a protobuf message or ByteString");
    }

    static String tooLarge(String what, long size) {
        return what + " of " + size + " bytes exceeds maximum message size of " + FrameHeader.MAX_PAYLOAD_LENGTH;
    }
}
