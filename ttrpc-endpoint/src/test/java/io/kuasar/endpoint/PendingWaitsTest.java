package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingWaitsTest {
    /** Records what a call was answered. */
    static final class Recorder implements StreamObserver<String> {
        final List<String> seen = new ArrayList<>();

        @Override
        public void onNext(String value) {
            seen.add("next " + value);
        }

        @Override
        public void onError(Throwable t) {
            seen.add("error " + Status.fromThrowable(t).getCode());
        }

        @Override
        public void onCompleted() {
            seen.add("completed");
        }
    }

    @Test
    void anAnsweredWaitIsAnsweredOnceAndForgotten() {
        PendingWaits waits = new PendingWaits();
        Recorder out = new Recorder();
        PendingWaits.Pending<String> call = waits.open(out);
        call.answer("exit 0");
        call.fail(new RuntimeException("late"));
        waits.closeAll();
        assertEquals(List.of("next exit 0", "completed"), out.seen);
        assertEquals(0, waits.size());
    }

    @Test
    void closingAnswersPendingAndLaterWaitsUnavailable() {
        PendingWaits waits = new PendingWaits();
        Recorder pending = new Recorder();
        PendingWaits.Pending<String> call = waits.open(pending);
        waits.closeAll();
        call.answer("exit 0"); // the sandbox's exit after the close: containerd already asks again elsewhere
        Recorder later = new Recorder();
        waits.open(later);
        assertEquals(List.of("error UNAVAILABLE"), pending.seen);
        assertEquals(List.of("error UNAVAILABLE"), later.seen);
        assertEquals(0, waits.size());
    }
}
