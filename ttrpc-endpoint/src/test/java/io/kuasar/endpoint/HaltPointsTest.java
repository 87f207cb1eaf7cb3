package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test crash switch: off without its file, each armed point fires once, the others stay armed. */
class HaltPointsTest {
    @TempDir
    Path dir;

    @Test
    void offWithoutAFileAndNothingArmedWithAnEmptyOne() throws Exception {
        assertFalse(HaltPoints.fromSystemProperties().enabled(), "no -D" + HaltPoints.PROPERTY + " here");
        HaltPoints points = new HaltPoints(dir.resolve("armed"));
        assertFalse(points.disarm("Task.Create:after"), "no file: nothing armed");
        Files.write(dir.resolve("armed"), List.of());
        points.reached("Task.Create:after"); // returns: a halt would end this test JVM
    }

    @Test
    void anArmedPointFiresOnceAndLeavesTheOthersArmed() throws Exception {
        Path file = dir.resolve("armed");
        Files.write(file, List.of("Task.Create:after", "Task.Start:after", "Task.Create:after"));
        HaltPoints points = new HaltPoints(file);
        assertFalse(points.disarm("Task.Kill:after"));
        assertTrue(points.disarm("Task.Create:after"));
        assertEquals(List.of("Task.Start:after", "Task.Create:after"), Files.readAllLines(file),
                "one arming, one firing: a second arming of the same point fires the next time");
        assertTrue(points.disarm("Task.Create:after"));
        assertTrue(points.disarm("Task.Start:after"));
        assertEquals(List.of(), Files.readAllLines(file));
        assertFalse(points.disarm("Task.Start:after"));
    }
}
