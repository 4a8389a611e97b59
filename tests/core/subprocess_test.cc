// Tests of the Subprocess test helper (tests/support/subprocess.h) with /bin/sh
// children: line reading with deadlines, stdin, exit reporting and cleanup.
#include "support/subprocess.h"

#include "support/test_util.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <chrono>

#include <gtest/gtest.h>

namespace oaio::test {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<Subprocess> start_sh(const std::string& script, SubprocessOptions options = {}) {
  options.argv = {"/bin/sh", "-c", script};
  auto p = Subprocess::start(std::move(options));
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(p).value() : nullptr;
}

TEST(SubprocessTest, ReadsLinesAndReportsExit) {
  auto p = start_sh("echo one; printf 'two\\nthree'; exit 3");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->read_line(milliseconds(5000)), "one");
  EXPECT_EQ(p->read_line(milliseconds(5000)), "two");
  EXPECT_EQ(p->read_line(milliseconds(5000)), "three");  // unterminated last line
  EXPECT_EQ(p->read_line(milliseconds(5000)), std::nullopt);
  EXPECT_TRUE(p->eof());
  auto exit = p->wait(milliseconds(5000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->code, 3);
  EXPECT_EQ(exit->to_string(), "exit 3");
}

TEST(SubprocessTest, ReadLineTimesOutWithoutEof) {
  auto p = start_sh("read x; echo got $x");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->read_line(milliseconds(50)), std::nullopt);
  EXPECT_FALSE(p->eof());
  ASSERT_TRUE(p->write_line("hello"));
  EXPECT_EQ(p->read_line(milliseconds(5000)), "got hello");
}

TEST(SubprocessTest, CloseStdinGivesEof) {
  auto p = start_sh("cat; echo done");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->write("a\nb\n"));
  p->close_stdin();
  EXPECT_EQ(p->read_line(milliseconds(5000)), "a");
  EXPECT_EQ(p->read_line(milliseconds(5000)), "b");
  EXPECT_EQ(p->read_line(milliseconds(5000)), "done");
  EXPECT_TRUE(p->stop().success());
  EXPECT_FALSE(p->write("late\n"));  // closed: refused, no SIGPIPE
}

TEST(SubprocessTest, WriteToExitedChildFailsWithoutSigpipe) {
  auto p = start_sh("exit 0");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->wait(milliseconds(5000)).has_value());
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = p->write(std::string(4096, 'x'));
  EXPECT_FALSE(ok);
}

TEST(SubprocessTest, EnvironmentAndWorkingDirectory) {
  SubprocessOptions options;
  options.env = {{"OAIO_SUBPROCESS_TEST", "value 1"}};
  options.cwd = "/";
  auto p = start_sh("echo \"$OAIO_SUBPROCESS_TEST\"; pwd", options);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->read_line(milliseconds(5000)), "value 1");
  EXPECT_EQ(p->read_line(milliseconds(5000)), "/");
}

TEST(SubprocessTest, CapturesStderr) {
  SubprocessOptions options;
  options.stderr_mode = SubprocessOptions::Stderr::kCapture;
  auto p = start_sh("echo oops >&2", options);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->read_line(milliseconds(5000)), std::nullopt);  // stdout EOF
  ASSERT_TRUE(p->wait(milliseconds(5000)).has_value());
  EXPECT_TRUE(wait_until([&] { return p->captured_stderr() == "oops\n"; })) << p->captured_stderr();
}

TEST(SubprocessTest, MissingProgramFailsToStart) {
  auto p = Subprocess::start({.argv = {"/nonexistent/oaio-no-such-program"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kTransportFailure);
  EXPECT_NE(p.status().message().find("oaio-no-such-program"), std::string::npos);
}

TEST(SubprocessTest, StopEscalatesToKillAndKillsTheProcessGroup) {
  // The shell ignores TERM and starts a grandchild: stop() must still end both. This
  // process becomes a subreaper for the test, so it can reap the orphaned grandchild
  // itself instead of leaving a zombie to init.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto p = start_sh("trap '' TERM; sleep 60 & echo $!; wait");
  ASSERT_NE(p, nullptr);
  auto grandchild = p->read_line(milliseconds(5000));
  ASSERT_TRUE(grandchild.has_value());
  pid_t gc = std::stoi(*grandchild);
  ExitInfo exit = p->stop(milliseconds(100));
  EXPECT_FALSE(exit.exited);
  EXPECT_EQ(exit.signal, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(gc, &status, 0), gc);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(SubprocessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto p = start_sh("sleep 60");
    ASSERT_NE(p, nullptr);
    pid = p->pid();
    EXPECT_TRUE(p->running());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped, not even a zombie
}

}  // namespace
}  // namespace oaio::test
