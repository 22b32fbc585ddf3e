// Label selectors as kubectl reads them, and labels as the state DB keeps them.
#include "resources/label_selector.h"

#include <gtest/gtest.h>

namespace banger {
namespace {

bool match(const std::string& sel, const std::map<std::string, std::string>& labels) {
  std::string why;
  auto s = parse_label_selector(sel, why);
  EXPECT_TRUE(s.has_value()) << sel << ": " << why;
  return s && s->matches(labels);
}

TEST(LabelSelector, EqualityNotEqualsAndExistence) {
  const std::map<std::string, std::string> web{{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(match("app=web", web));
  EXPECT_TRUE(match("app==web", web));
  EXPECT_FALSE(match("app=db", web));
  EXPECT_TRUE(match("app!=db", web));
  EXPECT_TRUE(match("missing!=x", web));  // as kubectl: an absent key is not equal
  EXPECT_TRUE(match("tier", web));
  EXPECT_FALSE(match("!tier", web));
  EXPECT_TRUE(match("app=web, tier=front", web));
  EXPECT_FALSE(match("app=web,tier=back", web));
}

TEST(LabelSelector, BadSelectorsSayWhy) {
  std::string why;
  EXPECT_FALSE(parse_label_selector("", why));
  EXPECT_FALSE(parse_label_selector("app=web,", why));
  EXPECT_FALSE(parse_label_selector("a b=c", why));
  EXPECT_NE(why.find("not a label requirement"), std::string::npos) << why;
  EXPECT_FALSE(parse_label_selector("app=bad value", why));
}

TEST(LabelSelector, LabelsRoundTripThroughTheirText) {
  std::map<std::string, std::string> l{{"b", "2"}, {"a", "1"}, {"example.com/tier", ""}};
  EXPECT_EQ(format_labels(l), "a=1,b=2,example.com/tier=");
  EXPECT_EQ(parse_labels(format_labels(l)), l);
  EXPECT_FALSE(parse_labels("novalue").has_value());
}

}  // namespace
}  // namespace banger
