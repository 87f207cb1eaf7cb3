package io.kuasar.spi;

/** An opaque typed value, carried as protobuf's {@code Any} to and from containerd. */
public record TypedData(String typeUrl, byte[] value) {
    public static final TypedData EMPTY = new TypedData("", new byte[0]);

    public boolean isEmpty() {
        return typeUrl.isEmpty() && value.length == 0;
    }
}
