Drivers' settings (OSGi ConfigAdmin), read by the node's File Install from this directory: one file PID.cfg per
configuration, lines key = value, picked up while the node runs (a changed driver setting restarts that driver:
its pods keep running). Only *.cfg files are read; the node never writes here.

  io.kuasar.driver.runc.cfg    runc_binary, stop_timeout_seconds
  io.kuasar.driver.runsc.cfg   runsc_binary, nsenter_binary, platform, network, pause_binary, pause_args,
                               stop_timeout_seconds
  io.kuasar.driver.quark.cfg   quark_binary, extra_args, start_timeout_seconds, stop_timeout_seconds
  io.kuasar.driver.vmm.cfg     qemu_binary, image_dir, accel (auto|kvm|tcg), default_vcpus, max_vcpus,
                               default_memory_mb, max_memory_mb, boot_timeout_seconds, network, template

Example: io.kuasar.driver.runc.cfg.example (rename it to .cfg to use it).
The node's own settings (sockets, directories, JVM) are in /etc/kuasar/jvm.args.
