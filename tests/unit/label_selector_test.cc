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

TEST(LabelSelector, SetBasedInAndNotIn) {
  const std::map<std::string, std::string> web{{"app", "web"}, {"env", "dev"}};
  EXPECT_TRUE(match("env in (dev,test)", web));
  EXPECT_TRUE(match("env in ( test , dev )", web));
  EXPECT_FALSE(match("env in (prod)", web));
  EXPECT_TRUE(match("env notin (prod,test)", web));
  EXPECT_FALSE(match("env notin (dev)", web));
  EXPECT_TRUE(match("missing notin (x)", web));  // as kubectl: an absent key is not in the set
  EXPECT_FALSE(match("missing in (x)", web));
  EXPECT_TRUE(match("app=web,env in (dev,test),!legacy", web));
  EXPECT_FALSE(match("env in (dev,test),app!=web", web));
}

TEST(LabelSelector, BadSelectorsSayWhy) {
  std::string why;
  EXPECT_FALSE(parse_label_selector("env in (dev", why));
  EXPECT_NE(why.find("unbalanced parentheses"), std::string::npos) << why;
  EXPECT_FALSE(parse_label_selector("env in ()", why));
  EXPECT_FALSE(parse_label_selector("env within (a)", why));
  EXPECT_NE(why.find("key in (a,b)"), std::string::npos) << why;
  EXPECT_FALSE(parse_label_selector("env in (a b)", why));
  EXPECT_NE(why.find("not a label value"), std::string::npos) << why;
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
