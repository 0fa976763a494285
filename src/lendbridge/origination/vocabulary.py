"""The words borrowers answer with, shared by the needs questionnaire and the application:
what the money is for and how they earn their income (each with its Chinese label)."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    CONSUMPTION = "consumption"
    EDUCATION = "education"
    MEDICAL = "medical"
    HOME_IMPROVEMENT = "home_improvement"
    TRAVEL = "travel"
    CAR = "car"
    BUSINESS = "business"
    OTHER = "other"


class Employment(StrEnum):
    EMPLOYED = "employed"
    CIVIL_SERVANT = "civil_servant"
    SELF_EMPLOYED = "self_employed"
    RETIRED = "retired"
    STUDENT = "student"
    UNEMPLOYED = "unemployed"


PURPOSE_ZH = {
    Purpose.CONSUMPTION: "日常消费",
    Purpose.EDUCATION: "教育培训",
    Purpose.MEDICAL: "医疗",
    Purpose.HOME_IMPROVEMENT: "家装",
    Purpose.TRAVEL: "旅游",
    Purpose.CAR: "购车",
    Purpose.BUSINESS: "个体经营",
    Purpose.OTHER: "其他",
}

EMPLOYMENT_ZH = {
    Employment.EMPLOYED: "受雇",
    Employment.CIVIL_SERVANT: "公务员/事业单位",
    Employment.SELF_EMPLOYED: "个体/自雇",
    Employment.RETIRED: "退休",
    Employment.STUDENT: "学生",
    Employment.UNEMPLOYED: "无业",
}
