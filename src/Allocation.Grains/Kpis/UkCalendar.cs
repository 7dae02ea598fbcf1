namespace Allocation.Grains.Kpis;

/// <summary>
/// England and Wales bank holidays and working days, computed rather than loaded, so the calendar never runs out.
/// One-off changes proclaimed for a single year are listed in <see cref="_moved"/> and <see cref="_extra"/>.
/// </summary>
public static class UkCalendar
{
    private static readonly TimeZoneInfo _london = FindLondon();

    /// <summary>Standard bank holidays moved by proclamation in one year: (year, standard date, moved to).</summary>
    private static readonly (DateOnly Standard, DateOnly MovedTo)[] _moved =
    [
        // 75th anniversary of VE day: the early May bank holiday moved from Monday 4 to Friday 8 May.
        (new(2020, 5, 4), new(2020, 5, 8)),
        // Platinum Jubilee: the spring bank holiday moved from Monday 30 May to Thursday 2 June.
        (new(2022, 5, 30), new(2022, 6, 2)),
    ];

    /// <summary>Additional one-off bank holidays.</summary>
    private static readonly DateOnly[] _extra =
    [
        new(2022, 6, 3),   // Platinum Jubilee
        new(2022, 9, 19),  // State Funeral of Queen Elizabeth II
        new(2023, 5, 8),   // Coronation of King Charles III
    ];

    /// <summary>The UK calendar date at the given instant (Europe/London, so 00:30 BST is already the next day).</summary>
    public static DateOnly DateOf(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _london).DateTime);

    public static TimeZoneInfo London => _london;

    /// <summary>England and Wales bank holidays in the year, in date order.</summary>
    public static IReadOnlyList<DateOnly> BankHolidays(int year)
    {
        var days = new List<DateOnly>
        {
            NextWeekday(new DateOnly(year, 1, 1)),
        };

        var easter = EasterSunday(year);
        days.Add(easter.AddDays(-2));
        days.Add(easter.AddDays(1));
        days.Add(FirstMonday(year, 5));
        days.Add(LastMonday(year, 5));
        days.Add(LastMonday(year, 8));

        // Christmas and Boxing Day: a day falling at the weekend is replaced by the next weekday not already a holiday.
        var christmas = NextWeekday(new DateOnly(year, 12, 25));
        var boxing = new DateOnly(year, 12, 26);
        boxing = boxing.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday || boxing <= christmas
            ? NextWeekday(christmas.AddDays(1))
            : boxing;
        days.Add(christmas);
        days.Add(boxing);

        for (var i = 0; i < days.Count; i++)
        {
            foreach (var (standard, movedTo) in _moved)
            {
                if (days[i] == standard)
                {
                    days[i] = movedTo;
                }
            }
        }

        days.AddRange(_extra.Where(d => d.Year == year));
        days.Sort();
        return days;
    }

    public static bool IsWorkingDay(DateOnly day) =>
        day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !Holidays(day.Year).Contains(day);

    /// <summary>
    /// Working days after <paramref name="from"/> up to and including <paramref name="to"/>: the day an assessment
    /// starts is day 0, so one completed on the next working day took 1 working day. Zero when <paramref name="to"/>
    /// is not after <paramref name="from"/>.
    /// </summary>
    public static int WorkingDaysBetween(DateOnly from, DateOnly to)
    {
        var count = 0;
        for (var day = from.AddDays(1); day <= to; day = day.AddDays(1))
        {
            if (IsWorkingDay(day))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Easter Sunday in the Gregorian calendar (the anonymous Gregorian computus, Meeus/Jones/Butcher).</summary>
    public static DateOnly EasterSunday(int year)
    {
        var a = year % 19;
        var b = year / 100;
        var c = year % 100;
        var d = b / 4;
        var e = b % 4;
        var f = (b + 8) / 25;
        var g = (b - f + 1) / 3;
        var h = ((19 * a) + b - d - g + 15) % 30;
        var i = c / 4;
        var k = c % 4;
        var l = (32 + (2 * e) + (2 * i) - h - k) % 7;
        var m = (a + (11 * h) + (22 * l)) / 451;
        var month = (h + l - (7 * m) + 114) / 31;
        var day = ((h + l - (7 * m) + 114) % 31) + 1;
        return new DateOnly(year, month, day);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, HashSet<DateOnly>> _byYear = new();

    private static HashSet<DateOnly> Holidays(int year) => _byYear.GetOrAdd(year, y => [.. BankHolidays(y)]);

    private static DateOnly NextWeekday(DateOnly day) => day.DayOfWeek switch
    {
        DayOfWeek.Saturday => day.AddDays(2),
        DayOfWeek.Sunday => day.AddDays(1),
        _ => day,
    };

    private static DateOnly FirstMonday(int year, int month)
    {
        var day = new DateOnly(year, month, 1);
        while (day.DayOfWeek != DayOfWeek.Monday)
        {
            day = day.AddDays(1);
        }

        return day;
    }

    private static DateOnly LastMonday(int year, int month)
    {
        var day = new DateOnly(year, month, DateTime.DaysInMonth(year, month));
        while (day.DayOfWeek != DayOfWeek.Monday)
        {
            day = day.AddDays(-1);
        }

        return day;
    }

    private static TimeZoneInfo FindLondon()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
        }
        catch (TimeZoneNotFoundException)
        {
            // A container without tzdata: UTC is right for half the year and an hour out for the other half.
            return TimeZoneInfo.Utc;
        }
    }
}
