#include "common/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

namespace sluice {
namespace {

TEST(TempDirTest, MadeFreshAndRemovedWithItsContents) {
  std::filesystem::path kept;
  {
    Result<TempDir> dir = TempDir::Make("sluice-temp-dir-test");
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    kept = dir->path();
    EXPECT_TRUE(std::filesystem::is_directory(kept));
    EXPECT_EQ(kept.filename().string().rfind("sluice-temp-dir-test-", 0), 0u);
    std::filesystem::create_directories(kept / "a" / "b");
    std::ofstream(dir->File("a/b/file")) << "x";
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(TempDirTest, TwoAreTwoDirectories) {
  TempDir first;
  TempDir second;
  EXPECT_NE(first.path(), second.path());
}

TEST(TempDirTest, AMoveHandsOverTheDirectory) {
  std::filesystem::path path;
  TempDir target("sluice-temp-dir-test");
  const std::filesystem::path replaced = target.path();
  {
    TempDir source("sluice-temp-dir-test");
    path = source.path();
    target = std::move(source);
  }
  // The moved-from object removed nothing; the target's old directory went.
  EXPECT_TRUE(std::filesystem::is_directory(path));
  EXPECT_EQ(target.path(), path);
  EXPECT_FALSE(std::filesystem::exists(replaced));
}

TEST(TempDirTest, AnUnusableTmpdirFallsBackToTmp) {
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  ::setenv("TMPDIR", "/nonexistent-sluice-base", 1);
  Result<TempDir> dir = TempDir::Make("sluice-temp-dir-test");
  if (old) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  EXPECT_EQ(dir->path().parent_path(), "/tmp");
}

}  // namespace
}  // namespace sluice
