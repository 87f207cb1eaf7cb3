package io.kuasar.driver.kit;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ProtoWriterTest {
    @Test
    void varintsAreLittleEndianGroupsOfSevenBitsAndZeroIsLeftOut() {
        byte[] b = new ProtoWriter().uint64(1, 300).uint64(2, 0).uint64(3, -1L).bytes();
        assertArrayEquals(new byte[] {0x08, (byte) 0xAC, 0x02, 0x18, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x01}, b);
    }

    @Test
    void nestedMessagesArePresentWhenAskedEvenIfEmpty() {
        byte[] b = new ProtoWriter().message(4, new ProtoWriter(), true).message(5, new ProtoWriter(), false)
                .message(6, new ProtoWriter().uint64(1, 7), false).bytes();
        assertArrayEquals(new byte[] {0x22, 0x00, 0x32, 0x02, 0x08, 0x07}, b);
        assertEquals(7, ProtoReader.number(b, 6, 1));
    }

    @Test
    void packedRepeatedValuesShareOneLengthDelimitedField() {
        byte[] b = new ProtoWriter().packed(4, new long[] {1, 150}).packed(5, new long[0]).bytes();
        assertArrayEquals(new byte[] {0x22, 0x03, 0x01, (byte) 0x96, 0x01}, b);
    }
}
