package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import io.kuasar.spi.TaskService;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * No silent UNIMPLEMENTED on the host's side: {@link RoutedTasks} passes on every method of {@link TaskService},
 * the optional ones included. One it did not declare would fall to the SPI's default and answer UNIMPLEMENTED
 * whatever the driver implements.
 */
class RoutedTasksCoverageTest {
    @Test
    void everyTaskServiceMethodIsRoutedToTheDriver() {
        assertAll(Arrays.stream(TaskService.class.getMethods()).filter(m -> !Modifier.isStatic(m.getModifiers()))
                .map(m -> (Executable) () -> assertDoesNotThrow(
                        () -> RoutedTasks.class.getDeclaredMethod(m.getName(), m.getParameterTypes()),
                        () -> "RoutedTasks does not route TaskService." + m.getName())));
    }
}
