package io.kuasar.endpoint;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import io.kuasar.spi.SandboxException;
import java.util.List;
import java.util.Map;

/**
 * The check every request from containerd passes before it is decoded into the SPI: no string field, however deep
 * (mounts, stdio paths, annotations, options), may hold a NUL byte. Such a string cannot name a file or an id on
 * Linux; let through, it surfaced as an INTERNAL {@code InvalidPathException} from whichever driver first made a
 * path of it. Refused here, it is INVALID_ARGUMENT naming the field, and nothing has been done.
 */
final class RequestFields {
    private RequestFields() {
    }

    /** INVALID_ARGUMENT naming the first string field of {@code request} that holds a NUL byte. */
    static void requireNoNul(MessageOrBuilder request) throws SandboxException {
        String bad = firstNul(request, "");
        if (bad != null) {
            throw SandboxException.invalid("request field " + bad + " contains a NUL byte");
        }
    }

    /** The path of the first string field holding a NUL byte (e.g. {@code rootfs[0].source}), or null. */
    static String firstNul(MessageOrBuilder m, String prefix) {
        for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            FieldDescriptor f = e.getKey();
            String name = prefix + f.getName();
            if (f.isMapField()) {
                for (Object entry : (List<?>) e.getValue()) { // map entries are messages with key and value
                    String bad = firstNul((Message) entry, name + ".");
                    if (bad != null) {
                        return bad;
                    }
                }
            } else if (f.isRepeated()) {
                List<?> values = (List<?>) e.getValue();
                for (int i = 0; i < values.size(); i++) {
                    String bad = check(f, values.get(i), name + "[" + i + "]");
                    if (bad != null) {
                        return bad;
                    }
                }
            } else {
                String bad = check(f, e.getValue(), name);
                if (bad != null) {
                    return bad;
                }
            }
        }
        return null;
    }

    private static String check(FieldDescriptor f, Object value, String name) {
        if (f.getJavaType() == FieldDescriptor.JavaType.STRING) {
            return ((String) value).indexOf('\0') >= 0 ? name : null;
        }
        if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            return firstNul((Message) value, name + ".");
        }
        return null;
    }
}
