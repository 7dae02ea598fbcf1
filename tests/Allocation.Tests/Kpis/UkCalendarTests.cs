using Allocation.Grains.Kpis;

namespace Allocation.Tests.Kpis;

public class UkCalendarTests
{
    /// <summary>England and Wales bank holidays as published on gov.uk/bank-holidays (and its archive for 2019-2021).</summary>
    public static TheoryData<int, string[]> Published => new()
    {
        { 2019, ["2019-01-01", "2019-04-19", "2019-04-22", "2019-05-06", "2019-05-27", "2019-08-26", "2019-12-25", "2019-12-26"] },
        // VE day 75: early May bank holiday moved to Friday 8 May. Boxing Day on a Saturday: Monday 28th.
        { 2020, ["2020-01-01", "2020-04-10", "2020-04-13", "2020-05-08", "2020-05-25", "2020-08-31", "2020-12-25", "2020-12-28"] },
        // Christmas on a Saturday and Boxing Day on a Sunday: Monday 27th and Tuesday 28th.
        { 2021, ["2021-01-01", "2021-04-02", "2021-04-05", "2021-05-03", "2021-05-31", "2021-08-30", "2021-12-27", "2021-12-28"] },
        // New Year's Day on a Saturday; spring bank holiday moved to 2 June plus the Platinum Jubilee on 3 June;
        // the State Funeral on 19 September; Christmas on a Sunday, so Boxing Day Monday 26th and Tuesday 27th in lieu.
        { 2022, ["2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03", "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27"] },
        // New Year's Day on a Sunday; the Coronation on Monday 8 May.
        { 2023, ["2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29", "2023-08-28", "2023-12-25", "2023-12-26"] },
        { 2024, ["2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26"] },
        { 2025, ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26"] },
        { 2026, ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28"] },
        { 2027, ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"] },
    };

    [Theory]
    [MemberData(nameof(Published))]
    public void Bank_holidays_match_the_published_list(int year, string[] expected)
    {
        Assert.Equal(expected.Select(DateOnly.Parse), UkCalendar.BankHolidays(year));
    }

    [Theory]
    [InlineData(2019, "2019-04-21")]
    [InlineData(2022, "2022-04-17")]
    [InlineData(2024, "2024-03-31")]
    [InlineData(2027, "2027-03-28")]
    [InlineData(2038, "2038-04-25")]
    public void Easter_Sunday_by_the_computus(int year, string expected) =>
        Assert.Equal(DateOnly.Parse(expected), UkCalendar.EasterSunday(year));

    [Theory]
    // Mon to Fri of one week: 4 working days after the Monday.
    [InlineData("2026-03-09", "2026-03-13", 4)]
    // Friday to Monday: the weekend does not count.
    [InlineData("2026-03-13", "2026-03-16", 1)]
    // Thu 2 Apr 2026 to Tue 7 Apr: Good Friday and Easter Monday are not working days.
    [InlineData("2026-04-02", "2026-04-07", 1)]
    // Christmas 2026: Fri 25 and Mon 28 (Boxing Day substitute) are holidays, so Thu 24 to Tue 29 is 1.
    [InlineData("2026-12-24", "2026-12-29", 1)]
    [InlineData("2026-03-10", "2026-03-10", 0)]
    [InlineData("2026-03-10", "2026-03-01", 0)]
    // Mon 5 Jan to Mon 9 Mar 2026: 4 days in the first week, 8 full weeks, then the Monday: 45.
    [InlineData("2026-01-05", "2026-03-09", 45)]
    public void Working_days_exclude_weekends_and_bank_holidays(string from, string to, int expected) =>
        Assert.Equal(expected, UkCalendar.WorkingDaysBetween(DateOnly.Parse(from), DateOnly.Parse(to)));

    [Fact]
    public void The_report_date_is_the_UK_date()
    {
        // 23:30 UTC on 1 July is 00:30 BST on 2 July; in winter UTC and UK dates agree.
        Assert.Equal(new DateOnly(2026, 7, 2), UkCalendar.DateOf(new DateTimeOffset(2026, 7, 1, 23, 30, 0, TimeSpan.Zero)));
        Assert.Equal(new DateOnly(2026, 1, 1), UkCalendar.DateOf(new DateTimeOffset(2026, 1, 1, 23, 30, 0, TimeSpan.Zero)));
    }
}
