/** In-Felix tests of the driver lifecycle (upgrade, rollback, removal) with real runc containers. */
package io.kuasar.itest;
